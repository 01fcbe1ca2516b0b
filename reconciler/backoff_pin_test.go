package reconciler

import (
	"testing"
	"time"

	"proclet.dev/proclet/apis/v1alpha1"
)

// The decisions of backoff.go pinned by literal values: each row kills a
// one-line mutant that the curve tests let through (make mutate).

func TestBackoff_ForDefaultsAndReadsEachField(t *testing.T) {
	d := func(v time.Duration) *v1alpha1.Duration { return &v1alpha1.Duration{Duration: v} }
	cases := []struct {
		name string
		spec *v1alpha1.BackoffSpec
		want backoffPolicy
	}{
		{"no restartBackoff", nil, backoffPolicy{initial: time.Second, max: 5 * time.Minute, resetAfter: 10 * time.Minute}},
		{"empty restartBackoff", &v1alpha1.BackoffSpec{}, backoffPolicy{initial: time.Second, max: 5 * time.Minute, resetAfter: 10 * time.Minute}},
		{"initial only", &v1alpha1.BackoffSpec{Initial: d(3 * time.Second)}, backoffPolicy{initial: 3 * time.Second, max: 5 * time.Minute, resetAfter: 10 * time.Minute}},
		{"max only", &v1alpha1.BackoffSpec{Max: d(7 * time.Second)}, backoffPolicy{initial: time.Second, max: 7 * time.Second, resetAfter: 10 * time.Minute}},
		{"resetAfter only", &v1alpha1.BackoffSpec{ResetAfter: d(time.Minute)}, backoffPolicy{initial: time.Second, max: 5 * time.Minute, resetAfter: time.Minute}},
		{"all three", &v1alpha1.BackoffSpec{Initial: d(2 * time.Second), Max: d(9 * time.Second), ResetAfter: d(30 * time.Second)},
			backoffPolicy{initial: 2 * time.Second, max: 9 * time.Second, resetAfter: 30 * time.Second}},
	}
	for _, c := range cases {
		if got := backoffFor(&v1alpha1.AppSpec{RestartBackoff: c.spec}); got != c.want {
			t.Errorf("%s: backoffFor = %+v, want %+v", c.name, got, c.want)
		}
	}
}

func TestBackoff_DelayEdges(t *testing.T) {
	cases := []struct {
		name     string
		p        backoffPolicy
		failures int
		want     time.Duration
	}{
		// A zero initial never waits, however many failures.
		{"zero initial", backoffPolicy{initial: 0, max: time.Minute}, 5, 0},
		{"negative initial", backoffPolicy{initial: -time.Second, max: time.Minute}, 5, 0},
		// The doubling stops only above half the cap: with an odd cap
		// of 5 ns, 2 ns (exactly 5/2 in integers) still doubles to 4 ns.
		{"double at exactly half the cap", backoffPolicy{initial: 1, max: 5}, 4, 4},
		{"cap after it", backoffPolicy{initial: 1, max: 5}, 5, 5},
		{"first failure", backoffPolicy{initial: time.Second, max: time.Minute}, 1, 0},
		{"second failure", backoffPolicy{initial: time.Second, max: time.Minute}, 2, time.Second},
		{"third failure", backoffPolicy{initial: time.Second, max: time.Minute}, 3, 2 * time.Second},
	}
	for _, c := range cases {
		if got := c.p.delay(c.failures); got != c.want {
			t.Errorf("%s: delay(%d) = %v, want %v", c.name, c.failures, got, c.want)
		}
	}
}

// A run of exactly resetAfter forgets the earlier crashes; one a
// nanosecond shorter does not.
func TestBackoff_RunOfExactlyResetAfterResets(t *testing.T) {
	p := backoffPolicy{initial: time.Second, max: time.Minute, resetAfter: 10 * time.Minute}
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	if n, next := p.failed(4, t0, t0.Add(10*time.Minute)); n != 1 || !next.Equal(t0.Add(10*time.Minute)) {
		t.Errorf("run of exactly resetAfter: failures %d, next %v; want 1, at once", n, next.Sub(t0))
	}
	if n, next := p.failed(4, t0, t0.Add(10*time.Minute-1)); n != 5 || next.Sub(t0.Add(10*time.Minute-1)) != 8*time.Second {
		t.Errorf("run just under resetAfter: failures %d, delay %v; want 5, 8s", n, next.Sub(t0.Add(10*time.Minute-1)))
	}
	if n, _ := p.failed(4, time.Time{}, t0); n != 5 {
		t.Errorf("a start that never ran: failures %d, want 5 (no reset)", n)
	}
}
