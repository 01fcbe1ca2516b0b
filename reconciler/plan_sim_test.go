package reconciler

import (
	"fmt"
	"math/rand/v2"
	"time"

	"proclet.dev/proclet/apis/v1alpha1"
	"proclet.dev/proclet/runtime"
)

// The simulated world of TestPlan_Properties: a host whose processes the
// test crashes, probes and stops, and on which it applies each plan as the
// executor and the runtime would.

// simWorld is a simulated host and the reconciler's memory of one app.
type simWorld struct {
	rng      *rand.Rand
	app      *v1alpha1.App
	revs     int // revisions so far; the desired one is revName(revs)
	waiting  string
	procs    []runtime.State // what the runtime reports, exited ones until released
	reasons  map[string]string
	slots    map[int]slot
	now      time.Time
	nextUID  int
	log      []string
	failNext bool // the next start fails (a missing binary)
	progress progress
	marks    int // progress marks of the current revision
}

func newSimWorld(seed uint64) *simWorld {
	w := &simWorld{rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)), reasons: map[string]string{},
		slots: map[int]slot{}, now: t0, revs: 1}
	w.app = testApp(int32(1+w.rng.IntN(4)), func(s *v1alpha1.AppSpec) { s.MinReadySeconds = int32(w.rng.IntN(3)) })
	w.randomStrategy()
	return w
}

func revName(n int) string { return fmt.Sprintf("r%d", n) }

func (w *simWorld) logf(format string, args ...any) {
	w.log = append(w.log, w.now.Sub(t0).String()+" "+fmt.Sprintf(format, args...))
	if len(w.log) > 40 {
		w.log = w.log[1:]
	}
}

func (w *simWorld) history() string {
	out := ""
	for _, l := range w.log {
		out += "  " + l + "\n"
	}
	return out
}

func (w *simWorld) randomStrategy() {
	vals := []v1alpha1.IntOrString{v1alpha1.FromInt(0), v1alpha1.FromInt(1), v1alpha1.FromInt(2), v1alpha1.FromString("25%"), v1alpha1.FromString("50%")}
	spec := &w.app.Spec
	if w.rng.IntN(6) == 0 {
		spec.Strategy = v1alpha1.Strategy{Type: v1alpha1.Recreate}
	} else {
		strategy(vals[w.rng.IntN(len(vals))], vals[w.rng.IntN(len(vals))])(spec)
	}
	w.logf("strategy %+v", spec.Strategy.RollingUpdate)
}

// randomEvent changes the world once.
func (w *simWorld) randomEvent() {
	spec := &w.app.Spec
	switch k := w.rng.IntN(20); {
	case k == 0:
		w.revs++
		w.logf("edit: new revision %s", revName(w.revs))
	case k == 1:
		spec.Replicas = ptr(int32(w.rng.IntN(5)))
		w.logf("edit: replicas %d", *spec.Replicas)
	case k == 2:
		w.randomStrategy()
	case k == 3:
		spec.RestartPolicy = []v1alpha1.RestartPolicy{v1alpha1.RestartAlways, v1alpha1.RestartOnFailure, v1alpha1.RestartNever}[w.rng.IntN(3)]
		w.revs++ // the restart policy is part of the revision
		w.logf("edit: restartPolicy %s, revision %s", spec.RestartPolicy, revName(w.revs))
	case k == 4:
		w.waiting = ""
		if w.rng.IntN(3) == 0 {
			w.waiting = "waiting for app \"db\""
		}
		w.logf("dependency waiting=%q", w.waiting)
	case k == 5:
		w.failNext = true
		w.logf("the next start fails")
	case k < 9:
		w.crash()
	case k < 12:
		w.completeStop()
	case k < 16:
		w.probe()
	default:
		d := []time.Duration{100 * time.Millisecond, time.Second, 3 * time.Second, 30 * time.Second}[w.rng.IntN(4)]
		w.now = w.now.Add(d)
	}
}

func (w *simWorld) running(stopping bool) []int {
	var idx []int
	for i, s := range w.procs {
		if s.Running() && s.Stopping == stopping {
			idx = append(idx, i)
		}
	}
	return idx
}

func (w *simWorld) crash() {
	idx := w.running(false)
	if len(idx) == 0 {
		return
	}
	s := &w.procs[idx[w.rng.IntN(len(idx))]]
	code := w.rng.IntN(2)
	reason := map[int]string{0: "Completed", 1: "Error"}[code]
	s.Exit = &v1alpha1.ExitStatus{Code: code, Reason: reason, At: w.now}
	w.logf("%s %s exits %d", s.Instance, s.UID, code)
}

func (w *simWorld) completeStop() {
	idx := w.running(true)
	if len(idx) == 0 {
		return
	}
	s := &w.procs[idx[w.rng.IntN(len(idx))]]
	w.exitStopped(s)
}

func (w *simWorld) exitStopped(s *runtime.State) {
	s.Exit = &v1alpha1.ExitStatus{Code: 0, Reason: w.reasons[s.UID], At: w.now}
	s.Stopping = false
	w.logf("%s %s stopped", s.Instance, s.UID)
}

func (w *simWorld) probe() {
	idx := w.running(false)
	if len(idx) == 0 {
		return
	}
	s := &w.procs[idx[w.rng.IntN(len(idx))]]
	switch w.rng.IntN(5) {
	case 0:
		s.Probe.Ready, s.Probe.ReadySince = false, time.Time{}
		w.logf("%s %s unready", s.Instance, s.UID)
	case 1:
		s.Probe.Ready, s.Probe.ReadySince = false, time.Time{}
		s.Probe.Failed, s.Probe.Message = runtime.ReasonLivenessProbeFailed, "HTTP 500"
		w.logf("%s %s liveness failed", s.Instance, s.UID)
	default:
		if !s.Probe.Ready {
			s.Probe.Ready, s.Probe.ReadySince = true, w.now
			w.logf("%s %s ready", s.Instance, s.UID)
		}
	}
}

func (w *simWorld) input() input {
	spec := w.app.Spec
	return input{app: w.app, revision: revName(w.revs), replicas: int(*spec.Replicas), observed: w.procs,
		slots: w.slots, synced: true, waiting: w.waiting, now: w.now}
}

// apply does what the executor and the runtime would: releases, stops
// (Stopping until completeStop), starts (possibly failing).
func (w *simWorld) apply(out output) {
	w.slots = out.slots
	for _, a := range out.actions {
		switch a.kind {
		case actRelease:
			for i, s := range w.procs {
				if s.UID == a.uid {
					w.procs = append(w.procs[:i], w.procs[i+1:]...)
					break
				}
			}
		case actStop:
			for i := range w.procs {
				if s := &w.procs[i]; s.UID == a.uid && s.Running() && !s.Stopping {
					s.Stopping = true
					w.reasons[s.UID] = a.reason
					w.logf("stop %s %s (%s)", s.Instance, s.UID, a.message)
				}
			}
		case actStart:
			w.start(a)
		}
	}
}

func (w *simWorld) start(a action) {
	sl := w.slots[a.ordinal]
	if sl.UID == "" {
		w.nextUID++
		sl.UID = fmt.Sprintf("u%d", w.nextUID)
	}
	if w.failNext {
		w.failNext = false
		sl.StartError, sl.StartReason = "no such file", "StartFailed"
		sl.Failures, sl.NextStartAt = backoffFor(&w.app.Spec).failed(sl.Failures, time.Time{}, w.now)
		w.slots[a.ordinal] = sl
		w.logf("start web-%d %s failed (%s)", a.ordinal, sl.UID, a.message)
		return
	}
	sl.StartError, sl.StartReason, sl.LastStartAt = "", "", w.now
	w.slots[a.ordinal] = sl
	w.procs = append(w.procs, runtime.State{UID: sl.UID, App: "web", Instance: fmt.Sprintf("web-%d", a.ordinal),
		Ordinal: a.ordinal, Revision: revName(w.revs), PID: 1000 + w.nextUID, StartedAt: w.now,
		Probe: runtime.ProbeStatus{Started: true}})
	w.logf("start web-%d %s at %s (%s)", a.ordinal, sl.UID, revName(w.revs), a.message)
}
