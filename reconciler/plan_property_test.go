package reconciler

import (
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

	"proclet.dev/proclet/apis/v1alpha1"
	"proclet.dev/proclet/runtime"
)

// TestPlan_Properties drives plan with random sequences of edits (new
// revisions, replicas, strategy, restart policy, dependencies), crashes,
// probe results, stops completing and time steps, applying each plan to a
// simulated host, and checks after every step the rules of
// docs/manifests.md:
//
//   - a start that adds to the app's count (processes alive or stopping,
//     plus the ordinals of the desired revision that will start again)
//     keeps it within replicas+maxSurge, and no step raises the count
//     above both the bound and what it was;
//   - a rollout stop never leaves fewer than replicas-maxUnavailable
//     serving ordinals while an old instance could still serve;
//   - no start before nextStartAt, of an ordinal the restart policy keeps
//     down, or while a dependency is unmet;
//   - a rollout's progress (for progressDeadlineSeconds) is more updated
//     or more available instances of the revision than at the last mark:
//     however its instances come and go, a revision progresses a bounded
//     number of times;
//   - once the world calms down (stops complete, instances ready, time
//     passes), the app converges to replicas instances of the revision.
//
// PROCLET_PLAN_SEED=n replays one seed (printed on failure);
// PROCLET_PLAN_SEEDS=n runs n sequences instead of 40, for a longer soak.
func TestPlan_Properties(t *testing.T) {
	seeds, steps := 40, 150
	if testing.Short() {
		seeds = 10
	}
	first := uint64(time.Now().UnixNano())
	if v := os.Getenv("PROCLET_PLAN_SEED"); v != "" {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			t.Fatalf("PROCLET_PLAN_SEED=%q: %v", v, err)
		}
		first, seeds = n, 1
	}
	if v := os.Getenv("PROCLET_PLAN_SEEDS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			t.Fatalf("PROCLET_PLAN_SEEDS=%q: %v", v, err)
		}
		seeds = n
	}
	for i := range seeds {
		seed := first + uint64(i)
		w := newSimWorld(seed)
		for step := range steps {
			w.randomEvent()
			if err := w.planStep(); err != nil {
				t.Fatalf("seed %d (PROCLET_PLAN_SEED=%d) step %d: %v\nhistory:\n%s", seed, seed, step, err, w.history())
			}
		}
		if err := w.settle(); err != nil {
			t.Fatalf("seed %d (PROCLET_PLAN_SEED=%d) settling: %v\nhistory:\n%s", seed, seed, err, w.history())
		}
	}
}

// bounds are the rollout's bounds as docs/manifests.md states them.
func (w *simWorld) bounds(n int) (surge, unavail int) {
	surge, unavail = rollingBounds(&w.app.Spec, n)
	if w.app.Spec.Strategy.Type == v1alpha1.Recreate {
		surge = 0
	}
	return surge, unavail
}

// count is the app's count against the bound: processes alive or stopping,
// and ordinals of rev that will start again.
func count(procs []runtime.State, slots map[int]slot, n int, rev string) int {
	c := 0
	revAt := map[int]bool{}
	for _, s := range procs {
		if s.Running() {
			c++
			revAt[s.Ordinal] = revAt[s.Ordinal] || s.Revision == rev
		}
	}
	for o := range n {
		sl := slots[o]
		if sl.Revision == rev && sl.UID != "" && !sl.Done && !revAt[o] {
			c++
		}
	}
	return c
}

// servingOrdinals counts the ordinals below n with an available instance.
func servingOrdinals(procs []runtime.State, n int, minReady time.Duration, now time.Time) int {
	serving := map[int]bool{}
	for _, s := range procs {
		if s.Ordinal < n && isAvailable(s, minReady, now) {
			serving[s.Ordinal] = true
		}
	}
	return len(serving)
}

// planStep plans once, checks the plan against the rules, and applies it.
func (w *simWorld) planStep() error {
	in := w.input()
	n, rev := in.replicas, in.revision
	surge, unavail := w.bounds(n)
	minReady := seconds(w.app.Spec.MinReadySeconds)
	before := count(in.observed, in.slots, n, rev)
	servingBefore := servingOrdinals(in.observed, n, minReady, w.now)
	out := plan(in)
	if err := w.checkStarts(in, out); err != nil {
		return err
	}
	grows := false
	for _, a := range out.actions {
		if a.kind == actStart && !reservedIn(in, a.ordinal) {
			grows = true
		}
	}
	rolloutStop := false
	for _, a := range out.actions {
		if a.kind == actStop && a.reason == ReasonStopped && a.ordinal < n {
			for _, s := range in.observed {
				rolloutStop = rolloutStop || (s.UID == a.uid && isAvailable(s, minReady, w.now))
			}
		}
	}
	w.apply(out)
	after := count(w.procs, w.slots, n, rev)
	bound := n + surge
	switch {
	case grows && after > bound:
		return fmt.Errorf("a start took the count to %d, over replicas+maxSurge %d+%d", after, n, surge)
	case after > max(bound, before):
		return fmt.Errorf("the count rose from %d to %d, over replicas+maxSurge %d+%d", before, after, n, surge)
	}
	if err := w.checkProgress(n, rev, minReady); err != nil {
		return err
	}
	servingAfter := servingOrdinals(w.procs, n, minReady, w.now)
	if rolloutStop && w.app.Spec.Strategy.Type != v1alpha1.Recreate && servingAfter < servingBefore && servingAfter < n-unavail {
		return fmt.Errorf("a rollout stop left %d serving ordinals (was %d), under replicas-maxUnavailable %d-%d", servingAfter, servingBefore, n, unavail)
	}
	return nil
}

// reservedIn reports whether ordinal o already counted before the plan.
func reservedIn(in input, o int) bool {
	sl := in.slots[o]
	if sl.Revision != in.revision || sl.UID == "" || sl.Done {
		return false
	}
	for _, s := range in.observed {
		if s.Ordinal == o && s.Running() && s.Revision == in.revision {
			return false
		}
	}
	return true
}

// checkStarts checks every start of out against the gate: dependencies,
// the restart policy and the backoff, as the slot was before the plan and
// as the exits the plan absorbed made it.
func (w *simWorld) checkStarts(in input, out output) error {
	for _, a := range out.actions {
		if a.kind != actStart {
			continue
		}
		o := a.ordinal
		if o >= in.replicas {
			return fmt.Errorf("start of ordinal %d, replicas %d", o, in.replicas)
		}
		if in.waiting != "" {
			return fmt.Errorf("start of ordinal %d while %s", o, in.waiting)
		}
		sl := in.slots[o]
		if sl.Revision != in.revision {
			continue
		}
		if sl.Done {
			return fmt.Errorf("start of ordinal %d, which the restart policy keeps down", o)
		}
		if sl.NextStartAt.After(in.now) {
			return fmt.Errorf("start of ordinal %d at %v, before nextStartAt %v", o, in.now.Sub(t0), sl.NextStartAt.Sub(t0))
		}
		for _, s := range in.observed {
			if s.UID != sl.UID || s.Running() || s.Exit.Reason == ReasonStopped {
				continue
			}
			if !restartable(w.app.Spec.RestartPolicy, s.Exit) {
				return fmt.Errorf("start of ordinal %d after an exit the restart policy keeps down: %+v", o, *s.Exit)
			}
			if _, next := backoffFor(&w.app.Spec).failed(sl.Failures, s.StartedAt, s.Exit.At); next.After(in.now) {
				return fmt.Errorf("start of ordinal %d right after a crash whose backoff ends at %v", o, next.Sub(t0))
			}
		}
	}
	return nil
}

// settle lets the world calm down: no crashes, no failing starts, no
// dependency, every stop completes, every instance becomes ready, time
// passes. The app must then converge.
func (w *simWorld) settle() error {
	w.waiting, w.failNext = "", false
	w.logf("settling")
	for range 200 {
		for i := range w.procs {
			s := &w.procs[i]
			if s.Stopping {
				w.exitStopped(s)
			} else if s.Running() && !s.Probe.Ready && s.Probe.Failed == "" {
				s.Probe.Ready, s.Probe.ReadySince = true, w.now
			}
		}
		if err := w.planStep(); err != nil {
			return err
		}
		w.now = w.now.Add(time.Minute)
	}
	in := w.input()
	for o := range in.replicas {
		if sl := w.slots[o]; sl.Revision == in.revision && sl.Done {
			continue
		}
		found := 0
		for _, s := range w.procs {
			if s.Ordinal == o && s.Running() && s.Revision == in.revision {
				found++
			}
		}
		if found != 1 {
			return fmt.Errorf("ordinal %d has %d instances at %s after settling: %+v", o, found, in.revision, w.procs)
		}
	}
	for _, s := range w.procs {
		// An ordinal whose new instance the restart policy keeps down
		// keeps its old instance serving.
		if sl := w.slots[s.Ordinal]; s.Ordinal < in.replicas && sl.Revision == in.revision && sl.Done {
			continue
		}
		if s.Running() && (s.Revision != in.revision || s.Ordinal >= in.replicas) {
			return fmt.Errorf("%s %s at %s still runs after settling", s.Instance, s.UID, s.Revision)
		}
	}
	return nil
}

// checkProgress advances the progress of the rollout as the status does
// and checks that a revision cannot progress without bound: the mark only
// rises, and there are at most so many instances.
func (w *simWorld) checkProgress(n int, rev string, minReady time.Duration) error {
	var c rolloutCounts
	for _, s := range w.procs {
		if s.Running() && !s.Stopping && s.Revision == rev {
			c.updated++
			if isAvailable(s, minReady, w.now) {
				c.available++
			}
		}
	}
	prev := w.progress
	w.progress = w.progress.advance(rev, c, w.now)
	more := c.updated > prev.updated || c.available > prev.available
	switch {
	case prev.revision != rev:
		w.marks = 0
	case !w.progress.at.Equal(prev.at) && !more:
		return fmt.Errorf("revision %s progressed to %+v from the mark %d updated, %d available", rev, c, prev.updated, prev.available)
	case w.progress.at.Equal(prev.at) && more && !w.now.Equal(prev.at):
		return fmt.Errorf("revision %s did not progress to %+v from the mark %d updated, %d available", rev, c, prev.updated, prev.available)
	case !w.progress.at.Equal(prev.at):
		w.marks++
	}
	if limit := 2 * (5 + 2); w.marks > limit {
		return fmt.Errorf("revision %s progressed %d times (at most %d instances of it can run)", rev, w.marks, 5+2)
	}
	return nil
}
