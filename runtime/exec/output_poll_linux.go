package exec

// This file holds the one goroutine that moves every instance's output
// into its log, and that starts an instance's waiter goroutine only once
// the instance has exited (onReadable, for pidWaiter.start). A goroutine
// per stream (two per instance) would sit idle
// nearly all the time and still cost its stack and a scratch pipe: at a
// thousand instances that was 2000 goroutines, 4000 file descriptors and
// (with their buffers) most of the daemon's memory. Instead one epoll set
// holds every output FIFO; its loop runs the rounds of the splice path
// (output_splice_linux.go: tee to peek, splice to move, exactly once)
// for whichever FIFO has output, through one scratch pipe and a buffer
// taken only for the round.
//
// A reader whose file cannot be spliced (not a FIFO, or no tee(2)) keeps a
// goroutine of its own (Runtime.read). One slow log write holds back the
// other instances' output for its duration; the instances never block on
// it (their FIFOs hold 1-4 MiB) and all logs share the disk anyway.

import (
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// roundsPerWake bounds what one FIFO gets in a turn (rounds of at most
// roundSize), so a flood from one instance does not starve the others:
// epoll is level-triggered, the rest is read on the next turn.
const roundsPerWake = 2

// roundSize is what one round of the loop takes from a FIFO at most (a
// tee, a read, a write, a splice): 1 MiB, what an unprivileged FIFO holds,
// so a busy instance costs a few rounds per MiB rather than sixteen of 64
// KiB, and each syscall and each timestamp is paid once for up to ten
// thousand lines. The round is capped by the scratch pipe's size (tee
// copies no more than it holds): 64 KiB when F_SETPIPE_SZ is refused.
const roundSize = 1 << 20

// roundBufs holds the loop's round buffers: one is taken only for the
// duration of a round, so an idle daemon holds at most the pool's.
var roundBufs = sync.Pool{New: func() any { b := make([]byte, roundSize); return &b }}

// outputCoalesce is how long the loop lets output gather before it waits
// again, when it is woken often for little: a writer making small writes
// (a line each) woke it, and cost it a tee, a read and a splice, for every
// write. It sleeps that long after a wake that moved less than a round
// and came less than that long after it began to wait. Quiet instances
// never meet it; a busy one has its output in the log at most that much
// later.
const outputCoalesce = time.Millisecond

// outputPoller is the Runtime's reader of the output FIFOs. Its fds exist
// while it has readers: the loop closes them when the last one ends.
type outputPoller struct {
	e *Runtime

	mu      sync.Mutex
	epfd    int    // -1 while there is no loop
	wake    int    // eventfd: a cancel wakes the loop
	scratch [2]int // the tee rounds' pipe: only the loop (and add's empty tee) use it
	round   int    // bytes a round takes at most: roundSize, or less if the scratch pipe holds less
	readers map[int32]*reader
	watches map[int32]*fdWatch // functions held back until their fd is readable (onReadable)
	cancels []*reader          // cancelled, for the loop to end
}

func newOutputPoller(e *Runtime) *outputPoller {
	return &outputPoller{e: e, epfd: -1, wake: -1, scratch: [2]int{-1, -1}, readers: map[int32]*reader{},
		watches: map[int32]*fdWatch{}}
}

var _ readableNotifier = (*outputPoller)(nil)

// fdWatch is a function held back until its fd is readable
// (onReadable). Guarded by outputPoller.mu.
type fdWatch struct {
	fire    func() // started on a goroutine of its own, once
	fd      int32  // in the epoll set while watched
	watched bool
}

// onReadable implements readableNotifier: fd joins the loop's epoll set
// (starting the loop if needed) until it is readable; then the loop takes
// it out and starts fire.
func (p *outputPoller) onReadable(fd int, fire func()) (now func(), ok bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	start := p.epfd < 0
	if start {
		if err := p.openLocked(); err != nil {
			return nil, false
		}
	}
	ev := unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(fd)}
	if err := unix.EpollCtl(p.epfd, unix.EPOLL_CTL_ADD, fd, &ev); err != nil {
		if start {
			p.closeLocked()
		}
		return nil, false
	}
	x := &fdWatch{fire: fire, fd: int32(fd), watched: true}
	p.watches[int32(fd)] = x
	if start {
		p.e.wg.Add(1)
		go p.loop(p.epfd, p.wake)
	}
	return func() { p.fireNow(x) }, true
}

// fireLocked takes x out of the epoll set and starts its function.
func (p *outputPoller) fireLocked(x *fdWatch) {
	if !x.watched {
		return
	}
	unix.EpollCtl(p.epfd, unix.EPOLL_CTL_DEL, int(x.fd), nil)
	delete(p.watches, x.fd)
	x.watched = false
	go x.fire()
}

// fireNow starts x's function now if the loop still holds it back.
func (p *outputPoller) fireNow(x *fdWatch) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if x.watched {
		p.fireLocked(x)
		p.notifyLocked() // the loop may have nothing left to wait for
	}
}

// Fields of reader used by the poller, guarded by outputPoller.mu.
type pollState struct {
	polled    bool  // the loop reads it
	cancelled bool  // cancel was called
	ended     bool  // finished: done is closed
	src       int32 // the FIFO's fd while polled
}

// startReader starts reading r's stream: in the loop when its file can be
// spliced, else on a goroutine of its own. The caller did e.wg.Add(1) for
// it; whoever ends it calls e.wg.Done.
func (e *Runtime) startReader(r *reader) {
	if !e.outputs.add(r) {
		go e.read(r)
	}
}

// add puts r in the loop, starting the loop if needed. It reports false,
// having changed nothing, when r's file cannot be spliced or the loop's
// fds cannot be made.
func (p *outputPoller) add(r *reader) bool {
	_, src, ok := fifoFD(r.f)
	if !ok {
		return false
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	start := p.epfd < 0
	if start {
		if err := p.openLocked(); err != nil {
			p.e.log.Warn("output reader loop unavailable; reading each stream on a goroutine of its own", "err", err)
			return false
		}
	}
	// An empty tee tells whether the kernel splices this FIFO (EAGAIN:
	// nothing there yet, but it does); EINVAL means no splicing here.
	if _, err := unix.Tee(src, p.scratch[1], 0, unix.SPLICE_F_NONBLOCK); errors.Is(err, unix.EINVAL) || errors.Is(err, unix.ENOSYS) {
		if start {
			p.closeLocked()
		}
		return false
	}
	r.poll.polled = true
	if r.poll.cancelled { // cancelled before it started: it ends at once
		p.cancels = append(p.cancels, r)
	} else {
		ev := unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(src)}
		if err := unix.EpollCtl(p.epfd, unix.EPOLL_CTL_ADD, src, &ev); err != nil {
			r.poll.polled = false
			if start {
				p.closeLocked()
			}
			return false
		}
		r.poll.src = int32(src)
		p.readers[int32(src)] = r
	}
	if start {
		p.e.wg.Add(1) // the caller's Add(1) for r keeps the count above 0
		go p.loop(p.epfd, p.wake)
	}
	if len(p.cancels) > 0 {
		p.notifyLocked()
	}
	return true
}

// openLocked makes the epoll set, the eventfd and the scratch pipe.
func (p *outputPoller) openLocked() error {
	epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return fmt.Errorf("epoll_create1: %w", err)
	}
	wake, err := unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK)
	if err != nil {
		unix.Close(epfd)
		return fmt.Errorf("eventfd: %w", err)
	}
	var scratch [2]int
	if err := unix.Pipe2(scratch[:], unix.O_CLOEXEC); err != nil {
		unix.Close(epfd)
		unix.Close(wake)
		return fmt.Errorf("pipe2: %w", err)
	}
	ev := unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(wake)}
	if err := unix.EpollCtl(epfd, unix.EPOLL_CTL_ADD, wake, &ev); err != nil {
		unix.Close(epfd)
		unix.Close(wake)
		unix.Close(scratch[0])
		unix.Close(scratch[1])
		return fmt.Errorf("epoll_ctl: %w", err)
	}
	p.epfd, p.wake, p.scratch = epfd, wake, scratch
	p.round = scratchRound(scratch[1])
	return nil
}

func (p *outputPoller) closeLocked() {
	for _, fd := range []int{p.epfd, p.wake, p.scratch[0], p.scratch[1]} {
		if fd >= 0 {
			unix.Close(fd)
		}
	}
	p.epfd, p.wake, p.scratch = -1, -1, [2]int{-1, -1}
}

func (p *outputPoller) notifyLocked() {
	var one [8]byte
	binary.NativeEndian.PutUint64(one[:], 1)
	unix.Write(p.wake, one[:]) // EAGAIN: a wake is pending anyway
}

// cancel makes r stop at once, keeping what it has read. Safe to call at
// any time, from any goroutine.
func (p *outputPoller) cancel(r *reader) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if r.poll.ended || r.poll.cancelled {
		return
	}
	r.poll.cancelled = true
	if r.poll.polled {
		p.cancels = append(p.cancels, r)
		p.notifyLocked()
		return
	}
	// Not started yet, or on a goroutine of its own: the deadline makes
	// that goroutine's read return (and stays for one not yet started).
	r.f.SetReadDeadline(time.Unix(1, 0))
}

// loop waits for output on every polled FIFO and moves it into the logs,
// until no reader is left; then it closes the poller's fds (a new reader
// starts a new loop).
func (p *outputPoller) loop(epfd, wake int) {
	defer p.e.wg.Done()
	events := make([]unix.EpollEvent, 64)
	var buf [8]byte
	var last struct { // the last wake
		waited time.Duration // how long epoll_wait blocked for it
		moved  int           // bytes it moved
	}
	for {
		p.mu.Lock()
		cancels := p.cancels
		p.cancels = nil
		p.mu.Unlock()
		for _, r := range cancels {
			p.end(r, nil, true)
		}
		p.mu.Lock()
		if len(p.readers) == 0 && len(p.watches) == 0 && len(p.cancels) == 0 {
			p.closeLocked()
			p.mu.Unlock()
			return
		}
		p.mu.Unlock()
		if last.moved > 0 && last.moved < p.round && last.waited < outputCoalesce {
			nap(outputCoalesce) // a little output, soon after the last: let more gather
		}
		waitFrom := time.Now()
		n, err := unix.EpollWait(epfd, events, -1)
		last.waited, last.moved = time.Since(waitFrom), 0
		if err != nil {
			if errors.Is(err, unix.EINTR) {
				continue
			}
			p.failAll(fmt.Errorf("epoll_wait: %w", err))
			continue
		}
		for _, ev := range events[:n] {
			if int(ev.Fd) == wake {
				unix.Read(wake, buf[:])
				continue
			}
			p.mu.Lock()
			if x := p.watches[ev.Fd]; x != nil {
				p.fireLocked(x) // a pidfd: the process exited (or its polling pipe closed)
				p.mu.Unlock()
				continue
			}
			r := p.readers[ev.Fd]
			if r != nil && r.poll.cancelled {
				r = nil // ended at the top of the next turn
			}
			p.mu.Unlock()
			if r == nil {
				continue
			}
			moved, eof, err := p.turn(r)
			last.moved += moved
			if eof || err != nil {
				p.end(r, err, false)
			}
		}
	}
}

// turn moves what r's FIFO holds into its log, at most roundsPerWake
// rounds, and says how many bytes. It reports EOF (no writer left and
// nothing more to read) or an error, either of which ends the reader.
func (p *outputPoller) turn(r *reader) (moved int, eof bool, err error) {
	src, round := int(r.poll.src), p.round
	for range roundsPerWake {
		n, err := unix.Tee(src, p.scratch[1], round, unix.SPLICE_F_NONBLOCK)
		switch {
		case errors.Is(err, unix.EINTR):
			continue
		case errors.Is(err, unix.EAGAIN):
			return moved, false, nil
		case err != nil:
			return moved, false, fmt.Errorf("tee: %w", err)
		case n == 0:
			return moved, true, nil
		}
		bp := roundBufs.Get().(*[]byte)
		buf := (*bp)[:n]
		err = readFull(p.scratch[0], buf)
		if err == nil {
			w := wholeLines(buf, round)
			r.out.WriteFrom(src, buf[:w])
			moved += w
		}
		roundBufs.Put(bp)
		if err != nil {
			p.resetScratch()
			return moved, false, err
		}
	}
	return moved, false, nil
}

// resetScratch replaces the scratch pipe after a failed round, which may
// have left bytes in it that would be taken for the next round's.
func (p *outputPoller) resetScratch() {
	var fresh [2]int
	if err := unix.Pipe2(fresh[:], unix.O_CLOEXEC); err != nil {
		return // keep the old one: better than none
	}
	round := scratchRound(fresh[1])
	p.mu.Lock()
	unix.Close(p.scratch[0])
	unix.Close(p.scratch[1])
	p.scratch, p.round = fresh, round
	p.mu.Unlock()
}

// end finishes r as Runtime.read does: the line cut short is ended (but not on
// a cancel by Detach: the next daemon continues it), the FIFO closed, the
// log released, done closed.
func (p *outputPoller) end(r *reader, err error, cancelled bool) {
	p.mu.Lock()
	if r.poll.ended {
		p.mu.Unlock()
		return
	}
	if r.poll.src >= 0 && p.readers[r.poll.src] == r {
		unix.EpollCtl(p.epfd, unix.EPOLL_CTL_DEL, int(r.poll.src), nil)
		delete(p.readers, r.poll.src)
	}
	r.poll.ended = true
	p.mu.Unlock()
	if err != nil {
		p.e.log.Error("reading instance output", "file", r.fifo, "err", err)
	}
	if !cancelled || !p.e.isDetached() {
		r.out.EndLine()
	}
	r.f.Close()
	p.e.releaseLog(r.out)
	close(r.done)
	p.e.wg.Done()
}

// failAll ends every reader and starts every held-back function after the
// epoll set failed, which should not happen; the instances keep running
// and keep their FIFOs.
func (p *outputPoller) failAll(err error) {
	p.mu.Lock()
	var all []*reader
	for _, r := range p.readers {
		all = append(all, r)
	}
	// The waiters held back wait on their own from now on (Wait blocks in
	// Go's poller), so that the loop has nothing left and ends instead of
	// retrying a failing epoll_wait.
	for _, x := range p.watches {
		p.fireLocked(x)
	}
	p.mu.Unlock()
	for _, r := range all {
		p.end(r, err, false)
	}
}
