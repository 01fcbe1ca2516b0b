package exec

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// fdTargets lists what the calling thread's fds above 2 point at. Raw
// system calls only: it runs on forker threads (see closeCopies).
func fdTargets() map[string]bool {
	out := map[string]bool{}
	link := make([]byte, 256)
	for _, fd := range threadFDs() {
		if n, err := unix.Readlink("/proc/thread-self/fd/"+strconv.Itoa(fd), link); err == nil {
			out[string(link[:n])] = true
		}
	}
	return out
}

// A forker thread holds none of the fds the process had when it started
// (a copy of a pipe's write end would keep its reader from ever seeing
// EOF), none opened since, and forks with a table of a few fds.
func TestForker_ThreadHoldsNoneOfTheDaemonsFDs(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	f := &forker{}
	defer f.stop()
	var before map[string]bool
	if !f.run(func() { before = fdTargets() }) {
		t.Skip("no forker threads here (unshare refused)")
	}
	later, err := os.CreateTemp(t.TempDir(), "later")
	if err != nil {
		t.Fatal(err)
	}
	defer later.Close()
	var after map[string]bool
	f.run(func() { after = fdTargets() })
	mine := fdTargets()
	for _, table := range []map[string]bool{before, after} {
		for target := range table {
			if strings.HasPrefix(target, "pipe:") || target == later.Name() {
				t.Errorf("a forker thread holds %s", target)
			}
		}
		if len(table) > 10 {
			t.Errorf("a forker thread holds %d fds: %v", len(table), table)
		}
	}
	if len(mine) < 2 { // the pipe's two ends at least
		t.Fatalf("the test's own table lists %d fds: the listing is broken", len(mine))
	}
	w.Close()
	done := make(chan error, 1)
	go func() { _, err := io.ReadAll(r); done <- err }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no EOF on a pipe whose write end was closed: a forker thread kept a copy")
	}
}

// No forker thread is the main thread, whose table /proc/<pid>/fd shows
// (lsof, the open-fds metric).
func TestForker_NeverTheMainThread(t *testing.T) {
	for range 20 {
		f := &forker{}
		tids := map[int]bool{}
		var mu sync.Mutex
		var wg sync.WaitGroup
		for range 2 * forkThreads {
			wg.Go(func() {
				f.run(func() { mu.Lock(); tids[unix.Gettid()] = true; mu.Unlock() })
			})
		}
		wg.Wait()
		f.stop()
		if !f.ok {
			t.Skip("no forker threads here (unshare refused)")
		}
		if tids[unix.Getpid()] {
			t.Fatalf("a forker thread is the main thread (%d)", unix.Getpid())
		}
	}
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	if _, err := os.Stat(fmt.Sprintf("/proc/self/fd/%d", r.Fd())); err != nil {
		t.Fatalf("the main thread's table lacks a pipe just opened: %v", err)
	}
}

// A process started on a forker thread gets the fds opened there, and
// the daemon can wait for it from any goroutine.
func TestForker_StartsAndTheDaemonWaits(t *testing.T) {
	f := &forker{}
	defer f.stop()
	out := t.TempDir() + "/out"
	cmd := exec.Command("/bin/sh", "-c", "echo $$; exit 3")
	var pid int
	var err error
	ok := f.run(func() { // raw opens only: see closeCopies
		fd, oerr := unix.Open(out, unix.O_WRONLY|unix.O_CREAT|unix.O_CLOEXEC, 0o644)
		if err = oerr; err != nil {
			return
		}
		o := os.NewFile(uintptr(fd), out)
		defer o.Close()
		stdin, serr := openDevNull()
		if err = serr; err != nil {
			return
		}
		defer stdin.Close()
		cmd.Stdin, cmd.Stdout = stdin, o
		if err = cmd.Start(); err == nil {
			pid = cmd.Process.Pid
			cmd.Process.Release()
		}
	})
	if !ok {
		t.Skip("no forker threads here (unshare refused)")
	}
	if err != nil {
		t.Fatal(err)
	}
	// Found again once it is a zombie (the case of a quick exit: the
	// pidfd must still be had, and the exit status with it).
	deadline := time.Now().Add(10 * time.Second)
	for {
		stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err == nil && strings.Contains(string(stat), ") Z ") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("pid %d never became a zombie: %s %v", pid, stat, err)
		}
		time.Sleep(time.Millisecond) // polling the process state, with a deadline
	}
	if cmd.Process, err = os.FindProcess(pid); err != nil {
		t.Fatal(err)
	}
	err = cmd.Wait()
	if cmd.ProcessState == nil || cmd.ProcessState.ExitCode() != 3 {
		t.Fatalf("wait: %v, state %v; want exit 3", err, cmd.ProcessState)
	}
	data, _ := os.ReadFile(out)
	if strings.TrimSpace(string(data)) != strconv.Itoa(pid) {
		t.Fatalf("output %q, want the pid %d", data, pid)
	}
}

// BenchmarkForkExec starts the workload's stand-in (/bin/true) beside
// 5000 open fds (a daemon with 1000 instances holds about that many):
// from the goroutine's own thread, and through a forker thread. Compare
// the two in the same run.
func BenchmarkForkExec(b *testing.B) {
	var files []*os.File
	for len(files) < 5000 { // 2500 pipes
		r, w, err := os.Pipe()
		if err != nil {
			b.Fatal(err)
		}
		files = append(files, r, w)
	}
	defer func() {
		for _, f := range files {
			f.Close()
		}
	}()
	start := func(b *testing.B) *exec.Cmd {
		cmd := exec.Command("/bin/true")
		stdin, err := openDevNull() // not exec.Cmd's os.Open: see forker_linux.go
		if err != nil {
			b.Fatal(err)
		}
		defer stdin.Close()
		cmd.Stdin = stdin
		if err := cmd.Start(); err != nil {
			b.Fatal(err)
		}
		return cmd
	}
	b.Run("here", func(b *testing.B) {
		for b.Loop() {
			start(b).Wait()
		}
	})
	b.Run("forker", func(b *testing.B) {
		f := &forker{}
		defer f.stop()
		for b.Loop() {
			var cmd *exec.Cmd
			var pid int
			f.run(func() { cmd = start(b); pid = cmd.Process.Pid; cmd.Process.Release() })
			cmd.Process, _ = os.FindProcess(pid)
			cmd.Wait()
		}
	})
}
