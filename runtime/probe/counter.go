package probe

import "math"

// probeOutcome is a probe's result with its thresholds applied.
type probeOutcome int8

const (
	outcomeUnknown probeOutcome = iota // no threshold reached yet (startup)
	outcomeSuccess
	outcomeFailure
)

// probeTransition is what one probe run changed, if anything.
type probeTransition int8

const (
	noTransition probeTransition = iota
	toSuccess                    // the outcome became success
	toFailure                    // the outcome became failure
)

func (t probeTransition) String() string {
	switch t {
	case toSuccess:
		return "toSuccess"
	case toFailure:
		return "toFailure"
	}
	return "none"
}

// probeCounter applies the kubelet's thresholds: the outcome becomes success
// after successThreshold consecutive successes and failure after
// failureThreshold consecutive failures; a run shorter than that leaves it
// as it was. It is pure: no clock, no I/O.
type probeCounter struct {
	successThreshold, failureThreshold int32

	outcome probeOutcome // the current outcome
	last    bool         // the result of the last run
	run     int32        // consecutive runs with result last (0: none yet)
}

// newProbeCounter returns a counter starting at initial: failure for
// readiness (not ready until it succeeds), success for liveness, unknown
// for startup. Thresholds below 1 count as 1.
func newProbeCounter(success, failure int32, initial probeOutcome) probeCounter {
	return probeCounter{successThreshold: max(success, 1), failureThreshold: max(failure, 1), outcome: initial}
}

// observe records one probe result and reports the transition it caused.
func (c *probeCounter) observe(ok bool) probeTransition {
	if c.run > 0 && ok == c.last {
		if c.run < math.MaxInt32 {
			c.run++
		}
	} else {
		c.last, c.run = ok, 1
	}
	want, threshold, tr := outcomeFailure, c.failureThreshold, toFailure
	if ok {
		want, threshold, tr = outcomeSuccess, c.successThreshold, toSuccess
	}
	if c.run < threshold || c.outcome == want {
		return noTransition
	}
	c.outcome = want
	return tr
}
