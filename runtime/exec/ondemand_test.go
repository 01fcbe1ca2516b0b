package exec

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// testClock is a clock the test moves.
type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *testClock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// A read runs a pass when the last one began maxAge ago or more (or
// never ran), and not otherwise; the samples get the time the pass began.
func TestOnDemand_PassOnlyWhenOlderThanMaxAge(t *testing.T) {
	clock := &testClock{now: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	var passes []time.Time
	o := &onDemand{maxAge: 5 * time.Second, now: clock.Now, pass: func(now time.Time) { passes = append(passes, now) }}

	steps := []struct {
		advance time.Duration
		pass    bool
	}{
		{0, true}, // never sampled
		{0, false},
		{4999 * time.Millisecond, false},
		{time.Millisecond, true}, // exactly maxAge old
		{time.Second, false},
		{time.Hour, true},
		{-time.Minute, true}, // the clock went back: the last pass is in the future
	}
	want := 0
	for i, s := range steps {
		clock.add(s.advance)
		o.refresh()
		if s.pass {
			want++
		}
		if len(passes) != want {
			t.Fatalf("step %d (+%s): %d passes, want %d", i, s.advance, len(passes), want)
		}
		if s.pass && !passes[want-1].Equal(clock.Now()) {
			t.Fatalf("step %d: the pass sampled at %s, want the read's time %s", i, passes[want-1], clock.Now())
		}
	}
}

// Readers that ask while a pass runs wait for it and share it: one pass
// for all of them, and every one returns after it.
func TestOnDemand_ConcurrentReadersShareOnePass(t *testing.T) {
	clock := &testClock{now: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	var passes atomic.Int32
	inPass, release := make(chan struct{}), make(chan struct{})
	o := &onDemand{maxAge: 5 * time.Second, now: clock.Now, pass: func(time.Time) {
		if passes.Add(1) == 1 {
			close(inPass)
			<-release
		}
	}}
	var done atomic.Int32
	var wg sync.WaitGroup
	wg.Go(func() { o.refresh(); done.Add(1) })
	<-inPass // the first reader's pass runs
	for range 8 {
		wg.Go(func() { o.refresh(); done.Add(1) })
	}
	// The others block on the pass in progress (the mutex): none is done
	// before it ends.
	clock.add(time.Second)
	if n := done.Load(); n != 0 {
		t.Fatalf("%d readers returned before the pass they wait for ended", n)
	}
	close(release)
	wg.Wait()
	if n := passes.Load(); n != 1 {
		t.Fatalf("9 concurrent readers ran %d passes, want 1", n)
	}
}
