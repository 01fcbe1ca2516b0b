//go:build linux

package probe

import (
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// The poller runs HTTP and TCP probes in the scheduler's goroutine: each
// run is a non-blocking socket on the poller's epoll set (connect, write
// the request, read the status line and header, then at most
// probeBodyLimit of the body, close). The epoll set is itself in Go's
// netpoller (an os.File), so the scheduler sleeps there with the next
// due run or probe timeout as its deadline, and an eventfd in the set
// wakes it. A response it does not handle alone (parseQuick) is closed
// and the run handed to the pool, whose full client fetches it again.

// The states of a run in the poller.
const (
	connecting uint8 = iota // TCP: waiting for the connect
	writing                 // HTTP: sending the request (the connect maybe not done)
	reading                 // HTTP: reading the response
)

// pconn is one run in the poller.
type pconn struct {
	fd    int
	l     *Loop
	t     *pollTarget
	state uint8
	inSet bool // in the epoll set
	// established: the socket is known to be connected (a byte written).
	established bool
	wrote       int
	hdr         []byte // the response so far, until its header is parsed
	parsed      bool
	resp        quickResponse
	got         int64 // body bytes read
}

type poller struct {
	epfd, evfd int
	file       *os.File
	rc         syscall.RawConn
	conns      map[int32]*pconn
	events     [64]unix.EpollEvent
	ev         unix.EpollEvent // the argument of EpollCtl, kept off the heap per call
	scratch    [16 << 10]byte  // where body bytes are read and dropped
	free       [][]byte        // header buffers, reused
	spare      []*pconn        // pconns, reused
	onReady    func(fd uintptr) bool

	s   *Scheduler
	inc *incarnation

	woken  atomic.Bool // an eventfd write is pending
	mu     sync.Mutex  // guards closed against a wake
	closed bool
}

func newPoller(s *Scheduler, inc *incarnation) (*poller, error) {
	epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, os.NewSyscallError("epoll_create1", err)
	}
	evfd, err := unix.Eventfd(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC)
	if err != nil {
		unix.Close(epfd)
		return nil, os.NewSyscallError("eventfd", err)
	}
	p := &poller{epfd: epfd, evfd: evfd, conns: map[int32]*pconn{}, s: s, inc: inc}
	err = p.ctl(unix.EPOLL_CTL_ADD, evfd, unix.EPOLLIN)
	if err == nil {
		err = unix.SetNonblock(epfd, true) // so that os.NewFile puts it in the netpoller
	}
	if err != nil {
		unix.Close(epfd)
		unix.Close(evfd)
		return nil, err
	}
	p.file = os.NewFile(uintptr(epfd), "probe-epoll")
	if p.rc, err = p.file.SyscallConn(); err == nil {
		err = p.file.SetReadDeadline(time.Time{}) // fails when not in the netpoller
	}
	if err != nil {
		p.file.Close()
		unix.Close(evfd)
		return nil, err
	}
	p.onReady = p.ready
	return p, nil
}

func (p *poller) ctl(op, fd int, events uint32) error {
	p.ev = unix.EpollEvent{Events: events, Fd: int32(fd)}
	return rawEpollCtl(p.epfd, op, fd, &p.ev)
}

// poll starts the run of l in the poller, if its runner is one it runs.
func (inc *incarnation) poll(s *Scheduler, l *Loop) bool {
	pr, ok := l.runner.(pollable)
	if !ok {
		return false
	}
	t := pr.pollTarget()
	if t == nil {
		return false
	}
	p := inc.poller.Load()
	if p == nil {
		var err error
		if p, err = newPoller(s, inc); err != nil {
			l.logAt(l.ws.w, slog.LevelWarn, "probes run in goroutines: no poller", "error", err)
			s.mu.Lock()
			s.noPoll = true
			s.mu.Unlock()
			return false
		}
		inc.poller.Store(p)
	}
	now := time.Now()
	l.begin, l.deadline = now, now.Add(l.timeout)
	if l.ws.ctx.Err() != nil {
		s.apply(l, Result{}, 0)
		return true
	}
	p.start(l, t)
	return true
}

// start opens the connection of a run of l to t.
func (p *poller) start(l *Loop, t *pollTarget) {
	sa := t.sockaddr()
	fd, err := rawSocket(sa.family)
	if err != nil {
		p.s.apply(l, Result{Msg: t.get + "dial tcp " + t.addr + ": socket: " + err.Error()}, time.Since(l.begin))
		return
	}
	c := p.newConn(fd, l, t)
	if err := rawConnect(fd, sa); err != nil && err != unix.EINPROGRESS {
		p.finish(c, Result{Msg: t.get + "dial tcp " + t.addr + ": connect: " + err.Error()})
		return
	}
	// On loopback the handshake is over when connect returns (it says
	// EINPROGRESS all the same): go on at once, without a wait for
	// EPOLLOUT and its getsockopt; p.connected says when it is not.
	p.connected(c)
}

// connected goes on with the run of c, its connect done or maybe not
// yet: TCP ends when a zero-length write says the socket is connected,
// HTTP writes its request; either waits for EPOLLOUT on EAGAIN.
func (p *poller) connected(c *pconn) {
	if c.t.req != nil {
		c.state = writing
		p.write(c)
		return
	}
	switch _, err := rawWrite(c.fd, nil); err {
	case nil:
		p.finish(c, Result{OK: true})
	case unix.EAGAIN:
		c.state = connecting
		p.want(c, unix.EPOLLOUT)
	default:
		p.finish(c, Result{Msg: c.t.get + "dial tcp " + c.t.addr + ": connect: " + err.Error()})
	}
}

// want sets the events c waits for.
func (p *poller) want(c *pconn, events uint32) {
	op := unix.EPOLL_CTL_ADD
	if c.inSet {
		op = unix.EPOLL_CTL_MOD
	}
	if err := p.ctl(op, c.fd, events); err != nil {
		p.finish(c, Result{Msg: c.t.get + "epoll_ctl: " + err.Error()})
		return
	}
	c.inSet = true
}

func (p *poller) newConn(fd int, l *Loop, t *pollTarget) *pconn {
	var c *pconn
	if n := len(p.spare); n > 0 {
		c, p.spare = p.spare[n-1], p.spare[:n-1]
	} else {
		c = new(pconn)
	}
	*c = pconn{fd: fd, l: l, t: t}
	p.conns[int32(fd)] = c
	return c
}

// release closes c's socket and recycles it.
func (p *poller) release(c *pconn) {
	rawClose(c.fd) // also out of the epoll set
	delete(p.conns, int32(c.fd))
	if c.hdr != nil && cap(c.hdr) == 4<<10 {
		p.free = append(p.free, c.hdr[:0])
	}
	*c = pconn{}
	p.spare = append(p.spare, c)
}

// finish ends the run of c with res.
func (p *poller) finish(c *pconn, res Result) {
	l := c.l
	p.release(c)
	p.s.apply(l, res, time.Since(l.begin))
}

// fallback hands the run of c to the pool: the full client runs it again,
// within what is left of its timeout.
func (p *poller) fallback(c *pconn) {
	l := c.l
	p.release(c)
	p.inc.runInPool(p.s, l)
}

// ready is the netpoller's callback on the epoll set: it handles what
// is ready, and reports false when nothing was (to sleep again).
func (p *poller) ready(fd uintptr) bool {
	n, err := rawEpollPoll(int(fd), p.events[:])
	if n <= 0 {
		return err != nil && err != unix.EINTR
	}
	for _, ev := range p.events[:n] {
		p.handle(ev)
	}
	return true
}

func (p *poller) handle(ev unix.EpollEvent) {
	if ev.Fd == int32(p.evfd) {
		var b [8]byte
		rawRead(p.evfd, b[:])
		p.woken.Store(false) // after the read: a wake after it writes again
		return
	}
	c := p.conns[ev.Fd]
	if c == nil {
		return
	}
	if c.l.ws.ctx.Err() != nil { // stopped: the result means nothing
		p.finish(c, Result{})
		return
	}
	if ev.Events&(unix.EPOLLERR|unix.EPOLLHUP) != 0 && c.state != reading {
		errno, err := unix.GetsockoptInt(c.fd, unix.SOL_SOCKET, unix.SO_ERROR)
		if err == nil {
			err = unix.ECONNRESET
			if errno != 0 {
				err = syscall.Errno(errno)
			}
		}
		p.writeFailed(c, err)
		return
	}
	switch c.state {
	case connecting: // TCP: EPOLLOUT is the connect done
		c.established = true
		p.finish(c, Result{OK: true})
	case writing:
		p.write(c)
	case reading:
		p.read(c)
	}
}

// write sends what is left of the request, then waits for the response.
// A write on a socket still connecting says EAGAIN, or the connect's
// error.
func (p *poller) write(c *pconn) {
	for c.wrote < len(c.t.req) {
		n, err := rawWrite(c.fd, c.t.req[c.wrote:])
		switch err {
		case nil:
			c.wrote += n
			c.established = true
		case unix.EINTR:
		case unix.EAGAIN:
			p.want(c, unix.EPOLLOUT)
			return
		default:
			p.writeFailed(c, err)
			return
		}
	}
	c.state = reading
	p.want(c, unix.EPOLLIN|unix.EPOLLRDHUP)
}

// writeFailed ends the run of c on an error before its request was sent:
// the connect's (as net's dialer says it) while the socket was not known
// to be connected and the error is one of a connect.
func (p *poller) writeFailed(c *pconn, err error) {
	switch {
	case c.established:
	case err == unix.ECONNREFUSED, err == unix.ETIMEDOUT, err == unix.EHOSTUNREACH, err == unix.ENETUNREACH,
		err == unix.EADDRNOTAVAIL, c.t.req == nil:
		p.finish(c, Result{Msg: c.t.get + "dial tcp " + c.t.addr + ": connect: " + err.Error()})
		return
	}
	p.finish(c, Result{Msg: c.t.get + p.opError(c, "write", err)})
}

// wait sleeps until next (zero: until woken), the first deadline of a
// run in flight, or something to handle; then it ends the runs past their
// deadline and those of stopped workers.
func (p *poller) wait(next time.Time) {
	deadline := next
	for _, c := range p.conns {
		if deadline.IsZero() || c.l.deadline.Before(deadline) {
			deadline = c.l.deadline
		}
	}
	p.file.SetReadDeadline(deadline)
	p.rc.Read(p.onReady) // a deadline, a wake or a result
	now := time.Now()
	for _, c := range p.conns {
		if !now.Before(c.l.deadline) {
			// What arrived before the deadline counts, even when this
			// goroutine was slow to get to it.
			p.ready(uintptr(p.epfd))
			break
		}
	}
	for _, c := range p.conns {
		switch {
		case c.l.ws.ctx.Err() != nil:
			p.finish(c, Result{})
		case !now.Before(c.l.deadline):
			p.finish(c, c.timedOut())
		}
	}
}

// wait sleeps until next or a poke, in the poller when there is one.
func (inc *incarnation) wait(s *Scheduler, next time.Time) {
	if p := inc.poller.Load(); p != nil {
		p.wait(next)
		return
	}
	s.waitTimer(next)
}

// pollerWake wakes the scheduler's goroutine out of the poller.
func (inc *incarnation) pollerWake() {
	p := inc.poller.Load()
	if p == nil || !p.woken.CompareAndSwap(false, true) {
		return
	}
	p.mu.Lock()
	if !p.closed {
		one := [8]byte{1}
		unix.Write(p.evfd, one[:])
	}
	p.mu.Unlock()
}

// closePoller ends the runs in flight (their workers are gone) and
// closes the poller.
func (inc *incarnation) closePoller(*Scheduler) {
	p := inc.poller.Load()
	if p == nil {
		return
	}
	for _, c := range p.conns {
		p.finish(c, Result{})
	}
	p.mu.Lock()
	p.closed = true
	unix.Close(p.evfd)
	p.mu.Unlock()
	p.file.Close()
}
