package reconciler

import (
	"fmt"
	"time"

	"proclet.dev/proclet/apis/v1alpha1"
	"proclet.dev/proclet/runtime"
)

// rollout converges the ordinals [0, replicas) of one app to the desired
// revision: it starts missing ordinals and replaces instances of older
// revisions within the strategy's bounds. Every start it decides goes
// through one gate (mayStart: dependencies, restart policy, backoff, the
// replicas+maxSurge bound). Part of the pure plan.
//
// The bound: the app's count is its processes, alive or stopping, at any
// ordinal and revision, plus the ordinals of the desired revision whose
// instance is down but will be started again (waiting out a backoff, or a
// start that failed): a crash-looping Kubernetes pod is still a pod. A
// start that adds to the count happens only while the count stays within
// replicas+maxSurge (replicas under Recreate). Restarting an ordinal that
// is already counted adds nothing, so that a scale-down whose instances
// are slow to stop never keeps a crashed instance down.
type rollout struct {
	in       input
	out      *output
	live     []runtime.State
	byOrd    map[int][]runtime.State // live processes by ordinal
	surge    int                     // how many instances may exist above replicas
	unavail  int                     // how many of replicas may be unavailable
	recreate bool
	minReady time.Duration
	count    int // processes plus reserved ordinals (see above)
}

func newRollout(in input, live []runtime.State, out *output) *rollout {
	r := &rollout{in: in, out: out, live: live, byOrd: map[int][]runtime.State{}}
	for _, s := range live {
		r.byOrd[s.Ordinal] = append(r.byOrd[s.Ordinal], s)
	}
	spec := &in.app.Spec
	r.minReady = seconds(spec.MinReadySeconds)
	r.recreate = spec.Strategy.Type == v1alpha1.Recreate
	r.surge, r.unavail = rollingBounds(spec, in.replicas)
	if r.recreate {
		r.surge = 0
	}
	r.count = len(live)
	for o := range in.replicas {
		if r.reserved(o) {
			r.count++
		}
	}
	return r
}

// reserved reports whether ordinal o counts against the bound with no
// process: its slot is at the desired revision, has had an instance, will
// be started again (not Done), and no process of that revision runs there.
func (r *rollout) reserved(o int) bool {
	sl := r.out.slots[o]
	if o >= r.in.replicas || sl.Revision != r.in.revision || sl.UID == "" || sl.Done {
		return false
	}
	for _, s := range r.byOrd[o] {
		if s.Revision == r.in.revision {
			return false
		}
	}
	return true
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
	oldLeft := false
	for _, s := range r.live {
		oldLeft = oldLeft || s.Revision != rev
	}
	// availOrds counts the ordinals in [0, n) that serve: a rollout stop
	// may take one away only while replicas-maxUnavailable remain.
	availOrds := 0
	for o := range n {
		if r.serves(o) {
			availOrds++
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
			if !stopping && !(r.recreate && oldLeft) {
				r.startIfAllowed(o, "")
			}
		case len(newer) > 0:
			for _, extra := range newer[1:] {
				out.stop(extra, ReasonStopped, "duplicate of "+extra.Instance)
			}
			for _, s := range older {
				switch {
				case r.available(newer[0]) || !r.available(s):
					out.stop(s, ReasonStopped, fmt.Sprintf("replaced by revision %s", rev))
				case newer[0].Probe.Ready:
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
		r.replace(o, &availOrds)
	}
}

// replace moves ordinal o, where only older revisions run, on to the
// desired revision: beside its old instance when the bound allows (a
// surge), else by stopping the old one when maxUnavailable allows.
func (r *rollout) replace(o int, availOrds *int) {
	in, out, rev := r.in, r.out, r.in.revision
	// Older instances that do not serve cost nothing to stop: a
	// superseded revision still starting, one not yet minReady.
	serving := false
	for _, s := range r.byOrd[o] {
		switch {
		case s.Stopping:
		case r.available(s):
			serving = true
		default:
			out.stop(s, ReasonStopped, fmt.Sprintf("superseded by revision %s", rev))
		}
	}
	if !serving {
		return // the ordinal starts at the new revision once they are gone
	}
	if r.startIfAllowed(o, fmt.Sprintf("rolling update to revision %s (surge)", rev)) {
		return
	}
	if *availOrds-1 >= in.replicas-r.unavail {
		for _, s := range r.byOrd[o] {
			if !s.Stopping {
				out.stop(s, ReasonStopped, fmt.Sprintf("rolling update to revision %s", rev))
			}
		}
		*availOrds--
	}
}

// serves reports whether some process of ordinal o, not being stopped, is
// available.
func (r *rollout) serves(o int) bool {
	for _, s := range r.byOrd[o] {
		if r.available(s) {
			return true
		}
	}
	return false
}

// startIfAllowed starts ordinal o at the desired revision when mayStart
// says so, and reports whether it did. msg says why ("" to derive it from
// the slot).
func (r *rollout) startIfAllowed(o int, msg string) bool {
	grows, ok := r.mayStart(o)
	if !ok {
		return false
	}
	in, sl := r.in, r.out.slots[o]
	switch {
	case sl.Revision == in.revision && sl.Crashed:
		msg = "restarting after exit"
	case sl.Revision == in.revision && sl.StartError != "":
		msg = "retrying start"
	case msg != "":
	case sl.Revision != "" && sl.Revision != in.revision:
		msg = fmt.Sprintf("rolling update to revision %s", in.revision)
	default:
		msg = "scaled up"
	}
	r.out.start(o, in.revision, msg)
	if grows {
		r.count++
	}
	return true
}

// mayStart is the one gate of every start, whichever path decides it: no
// start while a dependency is unmet, none of an ordinal the restart policy
// keeps down at this revision, none before its backoff expires (then it
// asks to be requeued at expiry), and none that would take the count above
// the bound. grows says whether the start adds to the count.
func (r *rollout) mayStart(o int) (grows, ok bool) {
	in, out := r.in, r.out
	if in.waiting != "" {
		return false, false
	}
	sl := out.slots[o]
	if sl.Revision == in.revision {
		if sl.Done {
			return false, false
		}
		if sl.NextStartAt.After(in.now) {
			out.requeueAt(in.now, sl.NextStartAt)
			return false, false
		}
	}
	grows = !r.reserved(o)
	if grows && r.count+1 > in.replicas+r.surge {
		return false, false
	}
	return grows, true
}
