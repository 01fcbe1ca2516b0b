package reconciler

import (
	"math"
	"time"

	"proclet.dev/proclet/apis/v1alpha1"
)

// backoffPolicy is the crash-loop protection of one app: the first restart
// after a crash is immediate, then initial, 2x, 4x ... capped at max. A run
// of at least resetAfter forgets the earlier crashes.
type backoffPolicy struct {
	initial, max, resetAfter time.Duration
}

// backoffFor reads the policy of a defaulted spec. Whatever the spec says
// (validation bounds it, but the arithmetic does not rely on that), the
// policy is normalized so that 0 <= initial <= max.
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
// failures-th consecutive failure (1-based): 0, initial, 2*initial, ...,
// never below 0 nor above max, for any policy and any count: the doubling
// saturates instead of overflowing into a negative delay.
func (p backoffPolicy) delay(failures int) time.Duration {
	ceil := max(p.max, 0)
	d := min(max(p.initial, 0), ceil)
	if failures <= 1 || d == 0 {
		return 0
	}
	// initial * 2^(failures-2), computed only while it stays below ceil.
	for i := 2; i < failures; i++ {
		if d > ceil/2 {
			return ceil
		}
		d *= 2
	}
	return d
}

// failed records one failure (a crash, or a start that could not happen) of
// a run that began at startedAt (zero when it never started) and ended at
// at, and returns the new consecutive-failure count and when the next start
// may happen. A run of resetAfter or longer resets the count first. The
// count saturates at math.MaxInt and the time at the end of time.Time.
func (p backoffPolicy) failed(failures int, startedAt, at time.Time) (int, time.Time) {
	if !startedAt.IsZero() && at.Sub(startedAt) >= p.resetAfter {
		failures = 0
	}
	if failures < math.MaxInt {
		failures = max(failures, 0) + 1
	}
	return failures, at.Add(p.delay(failures))
}

// seconds is n seconds as a Duration, 0 for a negative n. An int32 of
// seconds always fits a Duration (2^31 s is 68 years; a Duration holds 292).
func seconds(n int32) time.Duration {
	return time.Duration(max(n, 0)) * time.Second
}
