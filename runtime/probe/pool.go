package probe

import (
	"context"
	"slices"
	"sync"
	"time"
)

const (
	// poolMax bounds the runner goroutines of a Scheduler: the runs the
	// poller does not do (exec, https, redirects) in flight at once.
	// Beyond, a due run waits for a free runner: it is late, not lost.
	poolMax = 64
	// poolIdle is how long a runner goroutine waits for work before it
	// ends.
	poolIdle = 30 * time.Second
)

// pool is the runner goroutines of a scheduler incarnation: started on
// demand up to poolMax, reused while there is work, ended when idle for
// poolIdle or when the scheduler's goroutine ends.
type pool struct {
	s *Scheduler

	mu      sync.Mutex
	idle    []chan *Loop // the idle runners, each waiting on its channel (buffered 1; nil: end)
	n       int          // runners alive
	backlog []*Loop      // runs waiting for a runner
	closed  bool
	wg      sync.WaitGroup
}

// run gives the run of l to an idle runner, a new one, or the backlog.
func (p *pool) run(l *Loop) {
	p.mu.Lock()
	defer p.mu.Unlock()
	switch {
	case len(p.idle) > 0:
		ch := p.idle[len(p.idle)-1]
		p.idle = p.idle[:len(p.idle)-1]
		ch <- l
	case p.n < poolMax:
		p.n++
		p.wg.Add(1)
		go p.runner(l)
	default:
		p.backlog = append(p.backlog, l)
	}
}

// runner runs l, then whatever comes, until idle for poolIdle or closed.
func (p *pool) runner(l *Loop) {
	defer p.wg.Done()
	ch := make(chan *Loop, 1)
	var idle *time.Timer
	for l != nil {
		p.s.runOne(l)
		p.mu.Lock()
		if len(p.backlog) > 0 {
			l = p.backlog[0]
			p.backlog = slices.Delete(p.backlog, 0, 1)
			p.mu.Unlock()
			continue
		}
		if p.closed {
			p.n--
			p.mu.Unlock()
			return
		}
		p.idle = append(p.idle, ch)
		p.mu.Unlock()
		if idle == nil {
			idle = time.NewTimer(poolIdle)
		} else {
			idle.Reset(poolIdle)
		}
		select {
		case l = <-ch:
			idle.Stop()
		case <-idle.C:
			p.mu.Lock()
			if i := slices.Index(p.idle, ch); i >= 0 {
				p.idle = slices.Delete(p.idle, i, i+1)
				p.n--
				p.mu.Unlock()
				return
			}
			p.mu.Unlock()
			l = <-ch // handed a run (or the end) as the timer fired
		}
	}
	p.mu.Lock()
	p.n--
	p.mu.Unlock()
}

// close ends the idle runners and waits for the busy ones to finish.
func (p *pool) close() {
	p.mu.Lock()
	p.closed = true
	for _, ch := range p.idle {
		ch <- nil
	}
	p.idle = nil
	p.mu.Unlock()
	p.wg.Wait()
}

// runOne runs l once with its timeout, counted from now or, for a run
// the poller began and handed over, from its begin, and applies the
// result. A worker stopped in
// the meantime has its run skipped.
func (s *Scheduler) runOne(l *Loop) {
	ws := l.ws
	if ws.ctx.Err() != nil {
		s.done(l, Result{}, 0)
		return
	}
	begin, deadline := l.begin, l.deadline
	if begin.IsZero() { // not begun by the poller
		begin = time.Now()
		deadline = begin.Add(l.timeout)
	}
	ctx, cancel := context.WithDeadline(ws.ctx, deadline)
	var res Result
	if l.resume != nil {
		res = l.resume(ctx)
		l.resume = nil
	} else {
		res = l.runner.Probe(ctx)
	}
	cancel()
	s.done(l, res, time.Since(begin))
}
