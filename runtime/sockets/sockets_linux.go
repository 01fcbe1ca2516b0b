package sockets

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/sys/unix"

	"proclet.dev/proclet/apis/v1alpha1"
)

// Backlog is the listen backlog of every socket: connections the kernel
// queues while no instance accepts (a rollout's gap, a restart). The
// kernel caps it at net.core.somaxconn (4096 by default since Linux 5.4).
const Backlog = 4096

// Listen binds and listens on spec's address with SO_REUSEADDR (a
// restarted daemon binds at once beside connections in TIME_WAIT). The
// socket is blocking, as systemd hands them by default; the file is
// close-on-exec in the daemon (exec.Cmd's ExtraFiles makes the instance's
// copies inheritable).
func Listen(spec v1alpha1.SocketSpec) (*os.File, error) {
	ap, err := netip.ParseAddrPort(spec.Address())
	if err != nil {
		return nil, err
	}
	family, sa := unix.AF_INET, unix.Sockaddr(&unix.SockaddrInet4{Port: int(ap.Port()), Addr: ap.Addr().As4()})
	if !ap.Addr().Is4() {
		family, sa = unix.AF_INET6, &unix.SockaddrInet6{Port: int(ap.Port()), Addr: ap.Addr().As16()}
	}
	fd, err := unix.Socket(family, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("socket %s (%s): %w", spec.Name, ap, err)
	}
	err = unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_REUSEADDR, 1)
	if err == nil {
		err = unix.Bind(fd, sa)
	}
	if err == nil {
		err = unix.Listen(fd, Backlog)
	}
	if err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("listen on %s (socket %s): %w", ap, spec.Name, err)
	}
	return os.NewFile(uintptr(fd), "socket:"+spec.Name+"@"+ap.String()), nil
}

// TakeBack returns a copy (pidfd_getfd) of the listening TCP socket on
// spec's port that process pid holds: fd when it is that socket, else
// the first of its socket fds that is (an instance may have moved it: Go's
// net.FileListener and Python's socket.fromfd dup it, and many programs
// then close fd 3). It needs the right to ptrace pid (the same user, or
// CAP_SYS_PTRACE where Yama restricts ptrace to descendants).
func TakeBack(pid, fd int, spec v1alpha1.SocketSpec) (*os.File, error) {
	pidfd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		return nil, fmt.Errorf("pidfd_open %d: %w", pid, err)
	}
	defer unix.Close(pidfd)
	nfd, err := getListener(pidfd, fd, spec.Port)
	if err != nil {
		for _, other := range socketFDs(pid) {
			if other == fd {
				continue
			}
			if n, e := getListener(pidfd, other, spec.Port); e == nil {
				nfd, err = n, nil
				break
			}
		}
	}
	if err != nil {
		return nil, fmt.Errorf("no listening socket on port %d in process %d (fd %d: %w)", spec.Port, pid, fd, err)
	}
	return os.NewFile(uintptr(nfd), "socket:"+spec.Name+"@"+spec.Address()), nil
}

// getListener copies fd of the process of pidfd when it is a listening
// TCP socket on port.
func getListener(pidfd, fd int, port int32) (int, error) {
	nfd, err := unix.PidfdGetfd(pidfd, fd, 0) // close-on-exec
	if err != nil {
		return -1, fmt.Errorf("pidfd_getfd: %w", err)
	}
	if err := checkListener(nfd, port); err != nil {
		unix.Close(nfd)
		return -1, err
	}
	return nfd, nil
}

// socketFDs lists the fds of pid that are sockets.
func socketFDs(pid int) []int {
	dir := "/proc/" + strconv.Itoa(pid) + "/fd/"
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil
	}
	var out []int
	for _, e := range ents {
		if link, err := os.Readlink(dir + e.Name()); err == nil && strings.HasPrefix(link, "socket:") {
			if n, err := strconv.Atoi(e.Name()); err == nil {
				out = append(out, n)
			}
		}
	}
	return out
}

// checkListener reports whether fd is a listening TCP socket on port.
func checkListener(fd int, port int32) error {
	if v, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_ACCEPTCONN); err != nil || v != 1 {
		return errors.New("not a listening socket")
	}
	if v, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_TYPE); err != nil || v != unix.SOCK_STREAM {
		return errors.New("not a stream socket")
	}
	sa, err := unix.Getsockname(fd)
	if err != nil {
		return err
	}
	got := 0
	switch a := sa.(type) {
	case *unix.SockaddrInet4:
		got = a.Port
	case *unix.SockaddrInet6:
		got = a.Port
	}
	if got != int(port) {
		return fmt.Errorf("bound to port %d, not %d", got, port)
	}
	return nil
}

// Inode is the socket's inode number: the same socket, whichever process
// or daemon holds a copy of it.
func Inode(f *os.File) uint64 {
	var st unix.Stat_t
	if unix.Fstat(int(f.Fd()), &st) != nil {
		return 0
	}
	return st.Ino
}

// entry is one bound socket and who holds it.
type entry struct {
	app   string
	spec  v1alpha1.SocketSpec
	file  *os.File
	users map[string]bool // uids
}

// Set is the daemon's sockets, by address. Safe for concurrent use.
type Set struct {
	mu     sync.Mutex
	byAddr map[string]*entry
	byUID  map[string][]*entry
}

// NewSet returns an empty Set.
func NewSet() *Set {
	return &Set{byAddr: map[string]*entry{}, byUID: map[string][]*entry{}}
}

// ConflictError is a socket whose address another app's socket holds,
// or that cannot be bound (something else listens there).
type ConflictError struct {
	Socket v1alpha1.SocketSpec
	Index  int // in spec.sockets
	Err    error
}

func (e *ConflictError) Error() string {
	return fmt.Sprintf("spec.sockets[%d] (%s): %v", e.Index, e.Socket.Name, e.Err)
}

func (e *ConflictError) Unwrap() error { return e.Err }

// Acquire returns the sockets of specs for instance uid of app, in spec
// order, binding those not bound yet; uid holds them until Release. On an
// error uid holds nothing.
func (s *Set) Acquire(uid, app string, specs []v1alpha1.SocketSpec) ([]*os.File, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	files := make([]*os.File, 0, len(specs))
	for i, spec := range specs {
		e, err := s.entryLocked(app, spec)
		if err != nil {
			s.releaseLocked(uid)
			return nil, &ConflictError{Socket: spec, Index: i, Err: err}
		}
		s.holdLocked(uid, e)
		files = append(files, e.file)
	}
	return files, nil
}

// entryLocked finds the socket of spec's address, or binds it.
func (s *Set) entryLocked(app string, spec v1alpha1.SocketSpec) (*entry, error) {
	addr := spec.Address()
	if e := s.byAddr[addr]; e != nil {
		if e.app != app {
			return nil, fmt.Errorf("%s is the socket %s of app %q", addr, e.spec.Name, e.app)
		}
		return e, nil
	}
	for _, e := range s.byAddr {
		if e.spec.Port == spec.Port && e.app != app {
			return nil, fmt.Errorf("port %d is the socket %s of app %q (%s)", spec.Port, e.spec.Name, e.app, e.spec.Address())
		}
	}
	f, err := Listen(spec)
	if err != nil {
		return nil, err
	}
	e := &entry{app: app, spec: spec, file: f, users: map[string]bool{}}
	s.byAddr[addr] = e
	return e, nil
}

func (s *Set) holdLocked(uid string, e *entry) {
	if !e.users[uid] {
		e.users[uid] = true
		s.byUID[uid] = append(s.byUID[uid], e)
	}
}

// Adopt records that uid of app (an adopted instance) holds the sockets of
// specs: a socket already in the Set is shared; one not yet there is taken
// from files[i] (TakeBack; nil when it could not be taken, and the next
// Acquire binds it again). Files not kept are closed.
func (s *Set) Adopt(uid, app string, specs []v1alpha1.SocketSpec, files []*os.File) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, spec := range specs {
		var f *os.File
		if i < len(files) {
			f = files[i]
		}
		e := s.byAddr[spec.Address()]
		switch {
		case e != nil && e.app == app:
			if f != nil {
				f.Close()
			}
		case e == nil && f != nil:
			e = &entry{app: app, spec: spec, file: f, users: map[string]bool{}}
			s.byAddr[spec.Address()] = e
		default:
			if f != nil {
				f.Close()
			}
			continue
		}
		s.holdLocked(uid, e)
	}
}

// Release drops what uid holds and closes each socket nobody holds.
func (s *Set) Release(uid string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.releaseLocked(uid)
}

func (s *Set) releaseLocked(uid string) {
	for _, e := range s.byUID[uid] {
		delete(e.users, uid)
		if len(e.users) == 0 {
			delete(s.byAddr, e.spec.Address())
			e.file.Close()
		}
	}
	delete(s.byUID, uid)
}

// Bound lists the bound sockets' addresses, sorted.
func (s *Set) Bound() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]string, 0, len(s.byAddr))
	for a := range s.byAddr {
		out = append(out, a)
	}
	slices.Sort(out)
	return out
}

// Ports lists the ports of the bound sockets.
func (s *Set) Ports() []int32 {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]int32, 0, len(s.byAddr))
	for _, e := range s.byAddr {
		out = append(out, e.spec.Port)
	}
	return out
}

// PortOf returns the app and name of the socket on port, if any.
func (s *Set) PortOf(port int32) (app, name string, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, e := range s.byAddr {
		if e.spec.Port == port {
			return e.app, e.spec.Name, true
		}
	}
	return "", "", false
}

// Inodes is the inode of each bound socket, by address.
func (s *Set) Inodes() map[string]uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]uint64, len(s.byAddr))
	for a, e := range s.byAddr {
		out[a] = Inode(e.file)
	}
	return out
}
