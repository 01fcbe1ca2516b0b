package main

import (
	"bytes"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The probe floor: the bench binary run again with proberEnv set is a
// prober and nothing else. It does what the daemon's poller does for an
// httpGet readiness probe of every instance, on the same instances in the
// same run: every probePeriod, each of n targets on 127.0.0.1 from
// the first port gets a non-blocking socket, connect, the daemon's request
// (probeFloorRequest) written, the response read on EPOLLIN up to its
// Content-Length, close. The targets are spread over the 100 ms ticks of
// the period as the daemon's are, so that it wakes as often (10 times a
// second). One goroutine; the epoll set in Go's netpoller; the calls that
// do not block are raw system calls (no entersyscall, which would wake
// the runtime's sysmon thread). Its figure is what the probes cost with no
// supervisor around them; the daemon's "÷ floor" is against it.

// proberEnv carries "<first port>,<n>" to the prober.
const proberEnv = "PROCLET_BENCH_PROBER"

const (
	probeFloorTick = 100 * time.Millisecond
	probeFloorWait = time.Second // the probes' default timeout
)

// probeFloorRequest is the request the daemon's httpGet probe sends for
// {path: /healthz} on host:port (runtime/probe's NewHTTP).
func probeFloorRequest(port int) []byte {
	return []byte("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1:" + strconv.Itoa(port) +
		"\r\nUser-Agent: proclet-probe\r\nAccept: */*\r\nConnection: close\r\n\r\n")
}

type floorTarget struct {
	sa  unix.RawSockaddrInet4
	req []byte
}

type floorConn struct {
	fd    int32
	begun time.Time
	n     int // bytes of the response read
}

type prober struct {
	epfd    int
	file    *os.File
	rc      syscall.RawConn
	targets []floorTarget
	conns   map[int32]*floorConn
	spare   []*floorConn
	buf     [4 << 10]byte
	events  [64]unix.EpollEvent
	ok, bad int
	onReady func(uintptr) bool
}

// proberMain is the prober's process: it probes until SIGTERM, then
// prints "ok=<successes> failed=<failures>" on stdout.
func proberMain(spec string) int {
	first, n, err := parseProberSpec(spec)
	if err != nil {
		fmt.Fprintln(os.Stderr, "prober:", err)
		return 2
	}
	p, err := newProber(first, n)
	if err != nil {
		fmt.Fprintln(os.Stderr, "prober:", err)
		return 1
	}
	term := make(chan os.Signal, 1)
	signal.Notify(term, syscall.SIGTERM, syscall.SIGINT)
	// Target i runs on tick i of each period; with fewer targets than
	// ticks, the empty ticks are slept through, as the daemon does.
	ticks := int(probePeriod / probeFloorTick)
	used := min(n, ticks)
	next := time.Now().Truncate(probeFloorTick).Add(probeFloorTick)
	for tick := 0; ; tick = (tick + 1) % used {
		p.wait(next) // the runs in flight, until the next tick
		select {
		case <-term:
			fmt.Printf("ok=%d failed=%d\n", p.ok, p.bad)
			return 0
		default:
		}
		for i := tick; i < n; i += ticks {
			p.start(i)
		}
		next = next.Add(probeFloorTick)
		if tick == used-1 {
			next = next.Add(time.Duration(ticks-used) * probeFloorTick)
		}
	}
}

func parseProberSpec(spec string) (first, n int, err error) {
	a, b, ok := strings.Cut(spec, ",")
	if first, err = strconv.Atoi(a); err == nil && ok {
		n, err = strconv.Atoi(b)
	}
	if err != nil || !ok || first < 1 || n < 1 || first+n > 65536 {
		return 0, 0, fmt.Errorf("%s=%q: want <first port>,<count>", proberEnv, spec)
	}
	return first, n, nil
}

func newProber(first, n int) (*prober, error) {
	epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, err
	}
	if err := unix.SetNonblock(epfd, true); err != nil {
		return nil, err
	}
	p := &prober{epfd: epfd, file: os.NewFile(uintptr(epfd), "epoll"), conns: map[int32]*floorConn{}}
	p.onReady = p.ready
	if p.rc, err = p.file.SyscallConn(); err != nil {
		return nil, err
	}
	for i := range n {
		port := first + i
		t := floorTarget{req: probeFloorRequest(port)}
		t.sa.Family = unix.AF_INET
		t.sa.Port = uint16(port>>8) | uint16(port&0xff)<<8 // network order
		t.sa.Addr = [4]byte{127, 0, 0, 1}
		p.targets = append(p.targets, t)
	}
	return p, nil
}

func raw(trap, a1, a2, a3 uintptr) (uintptr, unix.Errno) {
	r, _, e := unix.RawSyscall(trap, a1, a2, a3)
	return r, e
}

// start begins the run of target i: socket, connect, the request, then
// EPOLLIN.
func (p *prober) start(i int) {
	t := &p.targets[i]
	r, e := raw(unix.SYS_SOCKET, unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if e != 0 {
		p.bad++
		return
	}
	fd := int32(r)
	if _, e = raw(unix.SYS_CONNECT, r, uintptr(unsafe.Pointer(&t.sa)), unix.SizeofSockaddrInet4); e != 0 && e != unix.EINPROGRESS {
		raw(unix.SYS_CLOSE, r, 0, 0)
		p.bad++
		return
	}
	// On loopback the handshake is done when connect returns.
	if n, e := raw(unix.SYS_WRITE, r, uintptr(unsafe.Pointer(&t.req[0])), uintptr(len(t.req))); e != 0 || int(n) != len(t.req) {
		raw(unix.SYS_CLOSE, r, 0, 0)
		p.bad++
		return
	}
	ev := unix.EpollEvent{Events: unix.EPOLLIN | unix.EPOLLRDHUP, Fd: fd}
	if _, _, e := unix.RawSyscall6(unix.SYS_EPOLL_CTL, uintptr(p.epfd), unix.EPOLL_CTL_ADD, r, uintptr(unsafe.Pointer(&ev)), 0, 0); e != 0 {
		raw(unix.SYS_CLOSE, r, 0, 0)
		p.bad++
		return
	}
	var c *floorConn
	if k := len(p.spare); k > 0 {
		c, p.spare = p.spare[k-1], p.spare[:k-1]
	} else {
		c = new(floorConn)
	}
	*c = floorConn{fd: fd, begun: time.Now()}
	p.conns[fd] = c
}

// wait handles responses until next; then fails the runs past their
// timeout.
func (p *prober) wait(next time.Time) {
	for time.Now().Before(next) {
		p.file.SetReadDeadline(next)
		if p.rc.Read(p.onReady) != nil {
			break // the deadline
		}
	}
	for fd, c := range p.conns {
		if time.Since(c.begun) >= probeFloorWait {
			p.end(fd, false)
		}
	}
}

// ready reads what is ready; false when nothing was (sleep again).
func (p *prober) ready(fd uintptr) bool {
	n, _, e := unix.RawSyscall6(unix.SYS_EPOLL_WAIT, fd, uintptr(unsafe.Pointer(&p.events[0])), uintptr(len(p.events)), 0, 0, 0)
	if e != 0 || n == 0 {
		return false
	}
	for _, ev := range p.events[:n] {
		p.read(ev.Fd)
	}
	return true
}

// read reads the response on fd: done at the end of its body (its
// Content-Length), or at the close.
func (p *prober) read(fd int32) {
	c := p.conns[fd]
	if c == nil {
		return
	}
	for {
		if c.n == len(p.buf) {
			p.end(fd, false)
			return
		}
		r, e := raw(unix.SYS_READ, uintptr(fd), uintptr(unsafe.Pointer(&p.buf[c.n])), uintptr(len(p.buf)-c.n))
		switch {
		case e == unix.EAGAIN:
			return
		case e != 0:
			p.end(fd, false)
			return
		case r == 0:
			p.end(fd, complete(p.buf[:c.n], true))
			return
		}
		c.n += int(r)
		if complete(p.buf[:c.n], false) {
			p.end(fd, true)
			return
		}
	}
}

// complete says whether resp is a whole 2xx or 3xx response: its header
// and Content-Length bytes of body (or the close, when eof).
func complete(resp []byte, eof bool) bool {
	end := bytes.Index(resp, []byte("\r\n\r\n"))
	if end < 0 || len(resp) < 12 || resp[9] < '2' || resp[9] > '3' {
		return false
	}
	const cl = "content-length:"
	for rest := resp[:end]; len(rest) > 0; {
		var line []byte
		line, rest, _ = bytes.Cut(rest, []byte("\r\n"))
		if len(line) > len(cl) && bytes.EqualFold(line[:len(cl)], []byte(cl)) {
			size := 0
			for _, d := range bytes.TrimSpace(line[len(cl):]) {
				if d < '0' || d > '9' {
					return false
				}
				size = size*10 + int(d-'0')
			}
			return len(resp)-end-4 >= size
		}
	}
	return eof
}

// end closes fd (out of the epoll set with it) and counts its run.
func (p *prober) end(fd int32, ok bool) {
	raw(unix.SYS_CLOSE, uintptr(fd), 0, 0)
	if c := p.conns[fd]; c != nil {
		delete(p.conns, fd)
		p.spare = append(p.spare, c)
	}
	if ok {
		p.ok++
	} else {
		p.bad++
	}
}
