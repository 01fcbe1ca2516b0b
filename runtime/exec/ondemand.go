package exec

import (
	"sync"
	"time"
)

// onDemand runs a sampling pass for readers, at most once per maxAge: a
// reader that wants samples no older than maxAge calls refresh, which
// runs pass only when the last one began maxAge ago or more. Concurrent
// readers coalesce: while one pass runs the others wait for it, then find
// it recent and return without a pass of their own. Nothing runs while
// nobody reads, which is what makes an idle daemon cheap.
type onDemand struct {
	maxAge time.Duration
	now    func() time.Time    // time.Now; a clock of the test's in tests
	pass   func(now time.Time) // samples, with now as the samples' time
	mu     sync.Mutex          // held across a pass: the coalescing
	last   time.Time           // when the last pass began; zero before the first
}

// refresh runs a pass unless one began less than maxAge ago, and returns
// once the samples are at most maxAge old (plus the pass's own time).
func (o *onDemand) refresh() {
	o.mu.Lock()
	defer o.mu.Unlock()
	now := o.now()
	if age := now.Sub(o.last); !o.last.IsZero() && age >= 0 && age < o.maxAge {
		return
	}
	o.last = now
	o.pass(now)
}
