package exec

import (
	"os"
	"slices"
	"strconv"
	"testing"

	"golang.org/x/sys/unix"
)

// threadKinds maps the calling thread's fds above 2 to what they point
// at. Raw system calls only: it runs on forker threads (see closeCopies).
func threadKinds() map[int]string {
	out := map[int]string{}
	link := make([]byte, 256)
	for _, fd := range threadFDs() {
		if n, err := unix.Readlink("/proc/thread-self/fd/"+strconv.Itoa(fd), link); err == nil {
			out[fd] = string(link[:n])
		}
	}
	return out
}

// The fds a forker thread keeps, besides regular files, are exactly the Go
// runtime's poller: the epoll set that lists a pipe os.Pipe registers
// after the threads started, and the eventfd in it. An epoll set and an
// eventfd of the daemon's own (the output poller has both), opened before
// the threads, are closed like any other copy: a check by name alone
// would keep them.
func TestForker_KeepsExactlyTheGoPoller(t *testing.T) {
	decoyEp, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(decoyEp)
	decoyEv, err := unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(decoyEv)
	ev := unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(decoyEv)}
	if err := unix.EpollCtl(decoyEp, unix.EPOLL_CTL_ADD, decoyEv, &ev); err != nil {
		t.Fatal(err)
	}

	f := &forker{}
	defer f.stop()
	var kept map[int]string
	if !f.run(func() { kept = threadKinds() }) {
		t.Skip("no forker threads here (unshare refused)")
	}
	for _, fd := range []int{decoyEp, decoyEv} {
		if k, ok := kept[fd]; ok {
			t.Errorf("a forker thread kept fd %d (%s), the daemon's own, not the Go runtime's", fd, k)
		}
	}

	// Found by what it holds: a pipe registered now is listed in the
	// epoll set the thread kept.
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	probe := -1
	rc, err := r.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	rc.Control(func(fd uintptr) { probe = int(fd) })
	var epolls, eventfds int
	for fd, kind := range kept {
		var st unix.Stat_t
		if unix.Fstat(fd, &st) == nil && st.Mode&unix.S_IFMT == unix.S_IFREG {
			continue
		}
		switch kind {
		case "anon_inode:[eventpoll]":
			epolls++
			if !slices.Contains(epollTargets(fd), probe) {
				t.Errorf("the kept epoll set %d does not list the pipe %d the Go runtime just registered: not its poller", fd, probe)
			}
		case "anon_inode:[eventfd]":
			eventfds++
		default:
			t.Errorf("a forker thread kept fd %d (%s)", fd, kind)
		}
	}
	if epolls != 1 || eventfds != 1 {
		t.Errorf("a forker thread kept %d epoll sets and %d eventfds, want the Go runtime's one each: %v", epolls, eventfds, kept)
	}
}
