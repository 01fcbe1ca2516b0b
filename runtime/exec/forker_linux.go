package exec

// This file runs the fork/exec of instances on threads whose file
// descriptor table holds almost nothing.
//
// A fork copies the parent's fd table and the exec then closes every
// close-on-exec fd of the copy: about 0.45 µs per fd on the machines
// we measure on. A daemon with a thousand instances holds some five
// thousand fds (two output FIFOs, two pidfds and a /proc stat file per
// instance), which made every start of an instance ~2.3 ms slower than
// the first (a kill -9 to new PID of 9–10 ms at 1000 against 5–6 ms at
// 100, and a tenth of a cold converge). Linux lets one thread have a fd
// table of its own (unshare(CLONE_FILES)): the forker threads unshare
// theirs, close the copies that matter (closeCopies), and fork from there,
// so a start costs the same beside 10 instances or 1000.
//
// What runs on a forker thread sees only the fds it opens there: it opens
// the child's ends of the output FIFOs by path, and /dev/null for its
// stdin, starts the process and closes them, and must touch no *os.File
// of the daemon's (nor let a library do so: exec.Cmd opens /dev/null with
// os.Open, which under go test writes to the test log's fd; hence the
// explicit stdin). os.StartProcess leaves a pidfd in that table for the
// Process; it is released there, and the daemon knows the child by its
// pid (unreaped, so reserved) and the waiter's pidfd (wait_linux.go).

import (
	"errors"
	"fmt"
	"os"
	goruntime "runtime"
	"slices"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/sys/unix"
	"proclet.dev/proclet/runtime/procfs"
)

// forkThreads is how many forker threads there are: as many starts as
// the reconciler runs at once (startAll).
const forkThreads = 4

// forker is the process's forker threads. Started by the first New
// (warm), before the Runtime opens anything, or on first use, they live as
// long as the process (a locked thread costs nothing idle). If any of them
// cannot unshare, none is used.
type forker struct {
	once sync.Once
	reqs chan func()
	ok   bool         // the threads are up: unshare worked
	keep map[int]bool // the Go runtime's poller fds (goPollerFDs), set before the threads start
}

var smallTable forker

// run runs fn on a forker thread and reports true once it returned; false
// (fn not run) when there are no forker threads (unshare refused, as a
// seccomp profile may).
func (f *forker) run(fn func()) bool {
	f.once.Do(f.start)
	if !f.ok {
		return false
	}
	done := make(chan struct{})
	f.reqs <- func() { defer close(done); fn() }
	<-done
	return true
}

// warm starts the threads now, if not yet started.
func (f *forker) warm() { f.once.Do(f.start) }

// stop ends the threads (tests: the process's own forker never stops).
func (f *forker) stop() {
	f.once.Do(func() {})
	if f.reqs != nil {
		close(f.reqs)
	}
}

func (f *forker) start() {
	// The fds the threads keep are the Go runtime's poller: found, not
	// guessed (goPollerFDs). Without them no thread is used: a thread
	// that closed the poller's eventfd would crash the process on the
	// next netpollBreak.
	keep, err := goPollerFDs()
	if err != nil {
		return
	}
	f.keep = keep
	f.reqs = make(chan func())
	ready := make(chan error, forkThreads)
	for range forkThreads {
		go f.thread(ready, nil)
	}
	f.ok = true
	for range forkThreads {
		if err := <-ready; err != nil {
			f.ok = false
		}
	}
}

// thread is one forker thread: its goroutine stays locked to it, so the
// thread ends with the goroutine and never runs anything else.
//
// Never the main thread: /proc/<pid>/fd (lsof, the process collector's
// open-fds metric) lists the main thread's table. A goroutine that finds
// itself there starts its replacement, keeps the main thread until the
// replacement has locked a thread of its own (so it cannot land there
// too), and gives the main thread back.
func (f *forker) thread(ready chan<- error, locked chan<- struct{}) {
	goruntime.LockOSThread() // never unlocked once unshared: the table must not serve other goroutines
	if unix.Gettid() == unix.Getpid() {
		moved := make(chan struct{})
		go f.thread(ready, moved)
		<-moved
		goruntime.UnlockOSThread()
		return
	}
	if locked != nil {
		close(locked)
	}
	if err := unix.Unshare(unix.CLONE_FILES); err != nil {
		ready <- err
		return
	}
	closeCopies(f.keep)
	ready <- nil
	for fn := range f.reqs {
		fn()
	}
}

// closeCopies closes the fds of the calling thread's (unshared) table a
// copy of which would change what the daemon sees: pipes, FIFOs, sockets
// (a copy of a pipe's write end and its reader never sees EOF; of a
// listener, and its port stays bound), devices, pidfds, other epoll sets.
// It keeps regular files (the daemon never waits on one's close; go
// test's log is one, and os.StartProcess writes to it) and keep: the Go
// runtime's epoll fd and eventfd, which the runtime may use from any
// thread (netpollBreak throws if its write fails). Closing the copies
// drops references only: the daemon's own table is untouched. The threads
// start with the Runtime, before it opens instance log files (which a
// copy would keep on disk after a rotation deletes them).
//
// Only raw system calls here: os.Open would tell the testing package's
// log, and the point is to know which fds this table holds.
func closeCopies(keep map[int]bool) {
	for _, fd := range threadFDs() {
		var st unix.Stat_t
		if keep[fd] || unix.Fstat(fd, &st) == nil && st.Mode&unix.S_IFMT == unix.S_IFREG {
			continue
		}
		unix.Close(fd)
	}
}

// goPollerFDs finds the fds of the Go runtime's network poller: the epoll
// set in which a pipe that os.Pipe just registered is listed
// (/proc/self/fdinfo/<fd> has a "tfd: <fd>" line per registered fd), and
// the eventfds listed in that same set (netpollBreak's). It identifies
// them by what they hold, not by their names, so another epoll set or
// eventfd of the daemon (the output poller's) is never taken for the
// runtime's. An error: no such set was found (no /proc, a runtime that
// polls otherwise), and the forker must not run.
func goPollerFDs() (map[int]bool, error) {
	r, w, err := os.Pipe() // registered with the poller: the one fd we know it holds
	if err != nil {
		return nil, fmt.Errorf("find the Go runtime's poller: %w", err)
	}
	defer r.Close()
	defer w.Close()
	probe := -1
	if rc, err := r.SyscallConn(); err == nil {
		rc.Control(func(fd uintptr) { probe = int(fd) })
	}
	fds, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return nil, fmt.Errorf("find the Go runtime's poller: %w", err)
	}
	for _, e := range fds {
		fd, err := strconv.Atoi(e.Name())
		if err != nil || fdKind(fd) != "anon_inode:[eventpoll]" {
			continue
		}
		tfds := epollTargets(fd)
		if !slices.Contains(tfds, probe) {
			continue
		}
		keep := map[int]bool{fd: true}
		for _, t := range tfds {
			if fdKind(t) == "anon_inode:[eventfd]" {
				keep[t] = true
			}
		}
		return keep, nil
	}
	return nil, errors.New("find the Go runtime's poller: no epoll set lists a pipe it registered")
}

// fdKind is what /proc/self/fd/<fd> points at ("" when unreadable).
func fdKind(fd int) string {
	target, err := os.Readlink("/proc/self/fd/" + strconv.Itoa(fd))
	if err != nil {
		return ""
	}
	return target
}

// epollTargets lists the fds registered in the epoll set epfd, from its
// fdinfo ("tfd:        5 events:       19 data: ...").
func epollTargets(epfd int) []int {
	data, err := os.ReadFile("/proc/self/fdinfo/" + strconv.Itoa(epfd))
	if err != nil {
		return nil
	}
	var out []int
	for line := range strings.Lines(string(data)) {
		rest, ok := strings.CutPrefix(line, "tfd:")
		if !ok {
			continue
		}
		if f := strings.Fields(rest); len(f) > 0 {
			if n, err := strconv.Atoi(f[0]); err == nil {
				out = append(out, n)
			}
		}
	}
	return out
}

// threadFDs lists the fds above 2 of the calling thread's table, with raw
// system calls only.
func threadFDs() []int {
	dir, err := unix.Open("/proc/thread-self/fd", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil
	}
	defer unix.Close(dir)
	var fds []int
	procfs.ReadDirents(dir, make([]byte, 8192), func(name []byte, _ uint64, _ int64) bool {
		if fd, err := strconv.Atoi(string(name[:len(name)-1])); err == nil && fd > 2 && fd != dir { // name ends in NUL
			fds = append(fds, fd)
		}
		return true
	})
	return fds
}
