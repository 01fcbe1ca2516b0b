package reconciler

import (
	"time"

	"proclet.dev/proclet/apis/v1alpha1"
)

// backoffPolicy is the crash-loop protection of one app: the first restart
// after a crash is immediate, then initial, 2x, 4x ... capped at max. A run
// of at least resetAfter forgets the earlier crashes.
type backoffPolicy struct {
	initial, max, resetAfter time.Duration
}

// backoffFor reads the policy of a defaulted spec.
func backoffFor(spec *v1alpha1.AppSpec) backoffPolicy {
	p := backoffPolicy{initial: time.Second, max: 5 * time.Minute, resetAfter: 10 * time.Minute}
	if b := spec.RestartBackoff; b != nil {
		if b.Initial != nil {
			p.initial = b.Initial.Duration
		}
		if b.Max != nil {
			p.max = b.Max.Duration
		}
		if b.ResetAfter != nil {
			p.resetAfter = b.ResetAfter.Duration
		}
	}
	return p
}

// delay returns how long to wait before the start that follows the
// failures-th consecutive failure (1-based): 0, initial, 2*initial, ...
func (p backoffPolicy) delay(failures int) time.Duration {
	if failures <= 1 {
		return 0
	}
	d := p.initial
	for i := 2; i < failures; i++ {
		d *= 2
		if d >= p.max {
			return p.max
		}
	}
	return min(d, p.max)
}

// failed records one failure (a crash, or a start that could not happen) of
// a run that began at startedAt (zero when it never started) and ended at
// at, and returns the new consecutive-failure count and when the next start
// may happen. A run of resetAfter or longer resets the count first.
func (p backoffPolicy) failed(failures int, startedAt, at time.Time) (int, time.Time) {
	if !startedAt.IsZero() && at.Sub(startedAt) >= p.resetAfter {
		failures = 0
	}
	failures++
	return failures, at.Add(p.delay(failures))
}
