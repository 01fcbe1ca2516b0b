//go:build linux

package probe

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// The poller's system calls are raw (unix.RawSyscall): each of them
// returns at once (the sockets are non-blocking, connect on loopback is
// the kernel's handshake done in the call, epoll_wait has a zero
// timeout), so the runtime need not know about them. A syscall through
// syscall.Syscall instead enters and leaves the scheduler's syscall state,
// and the first one after the process went idle wakes the runtime's
// sysmon thread, which then polls every 20 µs to 10 ms before it sleeps
// again: at 100 probes a second, a fifth of the daemon's CPU (perf at 1000
// probed instances), for nothing a probe needs.

// errno is e as an error: nil for 0.
func errno(e unix.Errno) error {
	if e == 0 {
		return nil
	}
	return e
}

func rawSocket(family int) (int, error) {
	fd, _, e := unix.RawSyscall(unix.SYS_SOCKET, uintptr(family), unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	return int(fd), errno(e)
}

func rawConnect(fd int, sa *rawAddr) error {
	_, _, e := unix.RawSyscall(unix.SYS_CONNECT, uintptr(fd), uintptr(sa.ptr), sa.len)
	return errno(e)
}

func rawWrite(fd int, b []byte) (int, error) {
	var p unsafe.Pointer
	if len(b) > 0 {
		p = unsafe.Pointer(&b[0])
	}
	n, _, e := unix.RawSyscall(unix.SYS_WRITE, uintptr(fd), uintptr(p), uintptr(len(b)))
	if e != 0 {
		return 0, e
	}
	return int(n), nil
}

func rawRead(fd int, b []byte) (int, error) {
	var p unsafe.Pointer
	if len(b) > 0 {
		p = unsafe.Pointer(&b[0])
	}
	n, _, e := unix.RawSyscall(unix.SYS_READ, uintptr(fd), uintptr(p), uintptr(len(b)))
	if e != 0 {
		return 0, e
	}
	return int(n), nil
}

func rawClose(fd int) {
	unix.RawSyscall(unix.SYS_CLOSE, uintptr(fd), 0, 0)
}

func rawEpollCtl(epfd, op, fd int, ev *unix.EpollEvent) error {
	_, _, e := unix.RawSyscall6(unix.SYS_EPOLL_CTL, uintptr(epfd), uintptr(op), uintptr(fd), uintptr(unsafe.Pointer(ev)), 0, 0)
	return errno(e)
}

// rawEpollPoll is epoll_wait with a zero timeout: what is ready now.
func rawEpollPoll(epfd int, events []unix.EpollEvent) (int, error) {
	n, _, e := unix.RawSyscall6(unix.SYS_EPOLL_PWAIT, uintptr(epfd), uintptr(unsafe.Pointer(&events[0])), uintptr(len(events)), 0, 0, 0)
	if e != 0 {
		return 0, e
	}
	return int(n), nil
}

// rawAddr is a socket address as connect(2) takes it.
type rawAddr struct {
	ptr    unsafe.Pointer // to v4 or v6
	len    uintptr
	family int
	v4     unix.RawSockaddrInet4
	v6     unix.RawSockaddrInet6
}

// sockaddr is t's address for connect(2), built on first use.
func (t *pollTarget) sockaddr() *rawAddr {
	if sa, ok := t.sa.(*rawAddr); ok {
		return sa
	}
	sa := &rawAddr{}
	port := (*[2]byte)(unsafe.Pointer(&sa.v4.Port)) // network byte order
	if a := t.ap.Addr(); a.Is4() {
		sa.v4.Family, sa.v4.Addr = unix.AF_INET, a.As4()
		sa.ptr, sa.len, sa.family = unsafe.Pointer(&sa.v4), unix.SizeofSockaddrInet4, unix.AF_INET
	} else {
		sa.v6.Family, sa.v6.Addr = unix.AF_INET6, a.As16()
		sa.ptr, sa.len, sa.family = unsafe.Pointer(&sa.v6), unix.SizeofSockaddrInet6, unix.AF_INET6
		port = (*[2]byte)(unsafe.Pointer(&sa.v6.Port))
	}
	port[0], port[1] = byte(t.ap.Port()>>8), byte(t.ap.Port())
	t.sa = sa
	return sa
}
