package probe

import (
	"container/heap"
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// Scheduler runs the probe loops of many workers with one goroutine: a
// heap of the loops by their next run, woken on the probeTicks. A due run
// of an HTTP or TCP probe to an IP address is done by the poller in that
// goroutine (poll_linux.go: non-blocking sockets on an epoll set, no
// goroutine per run); any other run (exec, https, a redirect, a response
// the poller leaves to net/http) goes to a small pool of runner
// goroutines (pool.go). The goroutine exits when no worker is left and
// starts again with the next Add. Its zero value is ready to use.
type Scheduler struct {
	mu      sync.Mutex
	due     loopHeap // the loops waiting for their next run
	workers int      // workers added and not ended
	cur     *incarnation
	wake    chan struct{} // buffered 1: something changed, look again
	// Pollers says whether HTTP and TCP runs may go to the poller (the
	// default); tests of the pool path set it false.
	noPoll bool
}

// incarnation is one run of the scheduler's goroutine, with its pool
// and poller (nil until a run needs it): an Add after the goroutine
// decided to exit starts a new one, with its own.
type incarnation struct {
	pool   *pool                  // the scheduler goroutine's
	poller atomic.Pointer[poller] // set by the scheduler goroutine, read by pokes
}

// workerState is a worker under a scheduler.
type workerState struct {
	w     *Worker
	ctx   context.Context
	stop  func() bool // the AfterFunc of ctx
	ended func()      // called once, when probing of w is over
	over  bool        // guarded by Scheduler.mu: no more runs (ctx done, or a liveness or startup failure)
	live  int         // guarded by Scheduler.mu: loops queued or running
}

// Add starts probing w until ctx is done or a liveness or startup probe
// fails, and returns at once. ended, if not nil, is called once probing
// of w is over and its last run has returned. wg counts the scheduler's
// goroutine while it runs (Add it to the caller's wait for shutdown).
func (s *Scheduler) Add(ctx context.Context, w *Worker, wg *sync.WaitGroup, ended func()) {
	ws := &workerState{w: w, ctx: ctx, ended: ended}
	now := time.Now()
	s.mu.Lock()
	if s.wake == nil {
		s.wake = make(chan struct{}, 1)
	}
	s.workers++
	first := []*Loop{w.Startup}
	if w.Startup == nil {
		first = []*Loop{w.Readiness, w.Liveness}
	}
	for _, l := range first {
		if l != nil {
			s.startLoopLocked(ws, l, now)
		}
	}
	if s.cur == nil {
		inc := &incarnation{}
		s.cur = inc
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.loop(inc)
		}()
	}
	end := ws.live == 0
	if end {
		ws.over = true
	}
	s.mu.Unlock()
	if end {
		s.end(ws)
		return
	}
	ws.stop = context.AfterFunc(ctx, func() { s.stopWorker(ws) })
	s.poke()
}

// startLoopLocked queues the first run of l: after its initial delay,
// counted from the process start, or at once when that is past; on the
// first probeTick at or after.
func (s *Scheduler) startLoopLocked(ws *workerState, l *Loop, now time.Time) {
	next := ws.w.Started.Add(l.initialDelay)
	if next.Before(now) {
		next = now
	}
	l.ws, l.next, l.idx = ws, onTick(next), -1
	ws.live++
	heap.Push(&s.due, l)
}

// stopWorker ends the probing of ws: its queued runs are dropped, a
// running one is discarded when it returns.
func (s *Scheduler) stopWorker(ws *workerState) {
	s.mu.Lock()
	if ws.over {
		s.mu.Unlock()
		return
	}
	ws.over = true
	for _, l := range []*Loop{ws.w.Startup, ws.w.Readiness, ws.w.Liveness} {
		if l != nil && l.ws == ws && l.idx >= 0 {
			heap.Remove(&s.due, l.idx)
			ws.live--
		}
	}
	end := ws.live == 0
	s.mu.Unlock()
	if end {
		s.end(ws)
	}
	s.poke()
}

// end is called once per worker, when its last loop is done.
func (s *Scheduler) end(ws *workerState) {
	if ws.stop != nil {
		ws.stop()
	}
	if ws.ended != nil {
		ws.ended()
	}
	s.mu.Lock()
	s.workers--
	s.mu.Unlock()
	s.poke()
}

// poke wakes the scheduler's goroutine to look at the heap again.
func (s *Scheduler) poke() {
	s.mu.Lock()
	inc, wake := s.cur, s.wake
	s.mu.Unlock()
	select {
	case wake <- struct{}{}:
	default:
	}
	if inc != nil {
		inc.pollerWake()
	}
}

// done is apply from another goroutine than the scheduler's: it wakes
// the scheduler for l's next run.
func (s *Scheduler) done(l *Loop, res Result, d time.Duration) {
	s.apply(l, res, d)
	s.poke()
}

// apply applies the result of a run of l (its thresholds, Update,
// OnProbe) and queues l's next run, or ends it. Never call it with s.mu
// held.
func (s *Scheduler) apply(l *Loop, res Result, d time.Duration) {
	ws := l.ws
	over, ok := true, false
	if ws.ctx.Err() == nil {
		over, ok = ws.w.step(l, res, d)
	}
	now := time.Now()
	l.begin, l.deadline = time.Time{}, time.Time{}
	s.mu.Lock()
	end := false
	switch {
	case ws.over:
		ws.live--
		end = ws.live == 0
	case over && ok: // the startup probe passed: the others begin
		ws.live--
		for _, next := range []*Loop{ws.w.Readiness, ws.w.Liveness} {
			if next != nil {
				s.startLoopLocked(ws, next, now)
			}
		}
		end = ws.live == 0
		ws.over = end
	case over: // a liveness or startup failure ends all probing of the instance
		ws.over = true
		ws.live--
		for _, o := range []*Loop{ws.w.Startup, ws.w.Readiness, ws.w.Liveness} {
			if o != nil && o.ws == ws && o.idx >= 0 {
				heap.Remove(&s.due, o.idx)
				ws.live--
			}
		}
		end = ws.live == 0
	default:
		// Period from the last scheduled run, not from its end (periods
		// are whole seconds: the schedule stays on the ticks); a run that
		// overran the period is followed on the next tick (a ticker's
		// slip).
		l.next = l.next.Add(l.period)
		if l.next.Before(now) {
			l.next = onTick(now)
		}
		heap.Push(&s.due, l)
	}
	s.mu.Unlock()
	if end {
		s.end(ws)
	}
}

// loop is the scheduler's goroutine: it starts the due runs and sleeps
// until the next, until no worker is left.
func (s *Scheduler) loop(inc *incarnation) {
	var due []*Loop
	for {
		s.mu.Lock()
		if s.workers == 0 {
			s.cur = nil
			s.mu.Unlock()
			break
		}
		now := time.Now()
		due = due[:0]
		for len(s.due) > 0 && !s.due[0].next.After(now) {
			due = append(due, heap.Pop(&s.due).(*Loop))
		}
		noPoll := s.noPoll
		s.mu.Unlock()
		for _, l := range due {
			if noPoll || !inc.poll(s, l) {
				inc.runInPool(s, l)
			}
		}
		clear(due)
		// After the runs began: one the poller ended at once (a refused
		// connect) is queued again.
		var next time.Time
		s.mu.Lock()
		if len(s.due) > 0 {
			next = s.due[0].next
		}
		s.mu.Unlock()
		inc.wait(s, next)
	}
	if inc.pool != nil {
		inc.pool.close()
	}
	inc.closePoller(s)
}

// runInPool hands the run of l to a runner goroutine.
func (inc *incarnation) runInPool(s *Scheduler, l *Loop) {
	if inc.pool == nil {
		inc.pool = &pool{s: s}
	}
	inc.pool.run(l)
}

// waitTimer sleeps until next (zero: until poked), or a poke.
func (s *Scheduler) waitTimer(next time.Time) {
	if next.IsZero() {
		<-s.wake
		return
	}
	t := time.NewTimer(time.Until(next))
	select {
	case <-t.C:
	case <-s.wake:
		t.Stop()
	}
}

// loopHeap orders loops by their next run.
type loopHeap []*Loop

func (h loopHeap) Len() int           { return len(h) }
func (h loopHeap) Less(i, j int) bool { return h[i].next.Before(h[j].next) }
func (h loopHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].idx, h[j].idx = i, j
}
func (h *loopHeap) Push(x any) {
	l := x.(*Loop)
	l.idx = len(*h)
	*h = append(*h, l)
}
func (h *loopHeap) Pop() any {
	old := *h
	l := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	l.idx = -1
	return l
}
