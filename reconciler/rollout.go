package reconciler

import (
	"fmt"
	"time"

	"proclet.dev/proclet/apis/v1alpha1"
	"proclet.dev/proclet/runtime"
)

// rollout converges the ordinals [0, replicas) of one app to the desired
// revision: it starts missing ordinals (subject to backoff and the restart
// policy) and replaces instances of older revisions within the strategy's
// bounds. Part of the pure plan.
type rollout struct {
	in       input
	out      *output
	byOrd    map[int][]runtime.State // live processes by ordinal
	surge    int                     // how many instances may exist above replicas
	unavail  int                     // how many of replicas may be unavailable
	recreate bool
	minReady time.Duration
}

func newRollout(in input, live []runtime.State, out *output) *rollout {
	r := &rollout{in: in, out: out, byOrd: map[int][]runtime.State{}}
	for _, s := range live {
		r.byOrd[s.Ordinal] = append(r.byOrd[s.Ordinal], s)
	}
	spec := &in.app.Spec
	r.minReady = time.Duration(spec.MinReadySeconds) * time.Second
	r.recreate = spec.Strategy.Type == v1alpha1.Recreate
	r.surge, r.unavail = rollingBounds(spec, in.replicas)
	return r
}

// rollingBounds resolves maxSurge (rounded up) and maxUnavailable (rounded
// down) against replicas, as Kubernetes does. An app with a fixed port
// cannot run two instances at once, so it never surges; and a rollout must
// be able to move, so both bounds are never zero together.
func rollingBounds(spec *v1alpha1.AppSpec, replicas int) (surge, unavail int) {
	surge, unavail = 0, 1
	if ru := spec.Strategy.RollingUpdate; ru != nil {
		if ru.MaxSurge != nil {
			if v, err := ru.MaxSurge.ScaledValue(replicas, true); err == nil {
				surge = v
			}
		}
		if ru.MaxUnavailable != nil {
			if v, err := ru.MaxUnavailable.ScaledValue(replicas, false); err == nil {
				unavail = v
			}
		}
	}
	if hasFixedPort(spec) {
		surge = 0
	}
	if surge == 0 && unavail == 0 {
		unavail = 1
	}
	return surge, unavail
}

func hasFixedPort(spec *v1alpha1.AppSpec) bool {
	for _, p := range spec.Ports {
		if p.Port != 0 {
			return true
		}
	}
	return false
}

// available reports whether s serves: running, not being stopped, ready
// (per its readiness probe, or started without one), and ready for
// minReadySeconds, as a Kubernetes pod counts as available.
func (r *rollout) available(s runtime.State) bool {
	return isAvailable(s, r.minReady, r.in.now)
}

func isAvailable(s runtime.State, minReady time.Duration, now time.Time) bool {
	return s.Running() && !s.Stopping && s.Probe.Ready && now.Sub(s.Probe.ReadySince) >= minReady
}

func (r *rollout) run() {
	in, out := r.in, r.out
	n, rev := in.replicas, in.revision
	// total counts every live process, stopping ones included, so that
	// there are never more than replicas+maxSurge processes at a time.
	total, availableCount, oldLeft := 0, 0, false
	for o := range n {
		for _, s := range r.byOrd[o] {
			if s.Revision != rev {
				oldLeft = true
			}
			total++
			if r.available(s) {
				availableCount++
			}
		}
	}
	var candidates []int // ordinals where only older revisions run
	for o := range n {
		var newer, older []runtime.State
		stopping := false
		for _, s := range r.byOrd[o] {
			switch {
			case s.Stopping:
				stopping = true
			case s.Revision == rev:
				newer = append(newer, s)
			default:
				older = append(older, s)
			}
		}
		switch {
		case len(newer) == 0 && len(older) == 0:
			// Missing: wait for a stopping process of this ordinal to be
			// gone, and under Recreate for every older one.
			if stopping || (r.recreate && oldLeft) {
				continue
			}
			if r.startMissing(o) {
				total++
			}
		case len(newer) > 0:
			for _, extra := range newer[1:] {
				out.stop(extra, ReasonStopped, "duplicate of "+extra.Instance)
				if r.available(extra) {
					availableCount--
				}
			}
			for _, s := range older {
				switch {
				case r.available(newer[0]) || !r.available(s):
					out.stop(s, ReasonStopped, fmt.Sprintf("replaced by revision %s", rev))
					if r.available(s) {
						availableCount--
					}
				case newer[0].Probe.Ready && !newer[0].Stopping:
					out.requeueAt(in.now, newer[0].Probe.ReadySince.Add(r.minReady))
				}
			}
		default:
			candidates = append(candidates, o)
		}
	}
	if r.recreate {
		for _, o := range candidates {
			for _, s := range r.byOrd[o] {
				if !s.Stopping {
					out.stop(s, ReasonStopped, fmt.Sprintf("recreating at revision %s", rev))
				}
			}
		}
		return
	}
	for _, o := range candidates {
		// Older instances that do not serve cost nothing to stop: a
		// superseded revision still starting, one not yet minReady.
		avail := 0
		for _, s := range r.byOrd[o] {
			switch {
			case s.Stopping:
			case r.available(s):
				avail++
			default:
				out.stop(s, ReasonStopped, fmt.Sprintf("superseded by revision %s", rev))
			}
		}
		if avail == 0 {
			continue // the ordinal starts at the new revision once they are gone
		}
		if total < n+r.surge && in.waiting == "" {
			out.start(o, rev, fmt.Sprintf("rolling update to revision %s (surge)", rev))
			total++
			continue
		}
		if availableCount-avail >= n-r.unavail {
			for _, s := range r.byOrd[o] {
				if !s.Stopping {
					out.stop(s, ReasonStopped, fmt.Sprintf("rolling update to revision %s", rev))
				}
			}
			availableCount -= avail
		}
	}
}

// startMissing starts ordinal o unless its restart policy keeps it down or
// its backoff has not expired (then it asks to be requeued at expiry).
func (r *rollout) startMissing(o int) bool {
	in, out := r.in, r.out
	if in.waiting != "" {
		return false
	}
	sl := out.slots[o]
	if sl.Revision == in.revision {
		if sl.Done {
			return false
		}
		if sl.NextStartAt.After(in.now) {
			out.requeueAt(in.now, sl.NextStartAt)
			return false
		}
	}
	msg := "scaled up"
	switch {
	case sl.Revision == in.revision && sl.Crashed:
		msg = "restarting after exit"
	case sl.Revision == in.revision && sl.StartError != "":
		msg = "retrying start"
	case sl.Revision != "" && sl.Revision != in.revision:
		msg = fmt.Sprintf("rolling update to revision %s", in.revision)
	}
	out.start(o, in.revision, msg)
	return true
}
