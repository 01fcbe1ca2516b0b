package reconciler

import (
	"fmt"
	"maps"
	"time"

	"proclet.dev/proclet/apis/v1alpha1"
	"proclet.dev/proclet/runtime"
)

// Exit reasons the reconciler gives the stops it asks for. ReasonStopped is
// a planned stop (scale down, rollout, removal, daemon shutdown): it is not
// a crash and costs no backoff. Other stop reasons (a failed liveness probe,
// a memory limit) are restarts through the normal backoff.
const (
	ReasonStopped = "Stopped"
)

// slot is the reconciler's memory of one ordinal of an app: what the
// runtime cannot tell, since it forgets an exited process once released.
type slot struct {
	// UID is the ordinal's instance at Revision; it stays across restarts
	// of that revision (as a pod's uid stays across container restarts)
	// and is empty until the executor assigns one.
	//
	// In the state file a field at its zero value is left out (a Job
	// keeps up to 10 runs of up to 100 indexes each).
	UID         string               `json:",omitzero"`
	Revision    string               `json:",omitzero"`
	Restarts    int32                `json:",omitzero"`
	Failures    int                  `json:",omitzero"` // consecutive failures, for the backoff
	NextStartAt time.Time            `json:",omitzero"` // zero: may start now
	LastStartAt time.Time            `json:",omitzero"`
	LastExit    *v1alpha1.ExitStatus `json:",omitzero"`
	StartError  string               `json:",omitzero"` // the last start failed (phase Failed, or Pending for StartReason PortInUse)
	StartReason string               `json:",omitzero"` // why: StartFailed or PortInUse
	Crashed     bool                 `json:",omitzero"` // the last exit was not ours: the next start is a restart
	Done        bool                 `json:",omitzero"` // exited, and the restart policy keeps it down at Revision
}

// actionKind is what an action does.
type actionKind int

const (
	actStart   actionKind = iota // start ordinal at the desired revision
	actStop                      // stop uid
	actRelease                   // forget the exited uid in the runtime
)

// action is one step the executor takes for the planner.
type action struct {
	kind    actionKind
	ordinal int
	uid     string
	reason  string // the stop's exit reason
	message string // why, for the event
	// run is the Job run of the instance (jobplan.go), 0 for an App's;
	// instance names it when it is not APP-ORDINAL.
	run      int64
	instance string
}

// note is an event the plan asks to be recorded.
type note struct {
	warning bool
	reason  string
	object  string
	message string
}

// input is everything a plan is computed from.
type input struct {
	app      *v1alpha1.App // the desired app; nil when it was removed
	revision string        // the desired revision
	replicas int           // desired replicas (0 when the node selector does not match)
	observed []runtime.State
	slots    map[int]slot
	synced   bool   // the first full snapshot has arrived
	waiting  string // an unmet dependency: start nothing new until it is met
	// held: the app's file is broken and its last good version unknown
	// (desiredApp.held): nothing is decided, as before the first snapshot.
	held bool
	now  time.Time
	// job is a Job's runs before the pass (never modified: planJob
	// clones it), nil for an App.
	job *jobState
}

// output is what to do and what to remember.
type output struct {
	actions []action
	slots   map[int]slot
	notes   []note
	// requeue is when to look again without an event (0: only on events).
	requeue time.Duration
	// forget: the app is gone and nothing of it is left.
	forget bool
	// job is a Job's runs after the pass (nil for an App): planJob.
	job *jobState
}

// plan decides what to do for one app. It is pure: no I/O, no clock, no
// randomness; everything it needs is in in.
func plan(in input) output {
	out := output{slots: maps.Clone(in.slots)}
	if out.slots == nil {
		out.slots = map[int]slot{}
	}
	// Before the first snapshot nothing is decided, not even what an
	// exit means: the desired app (its restart policy) is not known yet.
	// Nor for a held app, whose desired version is unknown until its file
	// is fixed.
	if !in.synced || in.held {
		return out
	}
	out.claim(in)
	var live []runtime.State
	for _, s := range in.observed {
		if s.Running() {
			live = append(live, s)
			continue
		}
		out.absorbExit(in, s)
	}
	if in.app == nil {
		for _, s := range live {
			if !s.Stopping {
				out.stop(s, ReasonStopped, "app removed")
			}
		}
		out.forget = len(live) == 0
		return out
	}
	var kept []runtime.State
	for _, s := range live {
		switch {
		case s.Stopping:
			kept = append(kept, s)
		case s.Ordinal >= in.replicas:
			out.stop(s, ReasonStopped, "scaled down")
			kept = append(kept, stopped(s))
		case s.Probe.Failed != "":
			// A failed liveness or startup probe: restart through the
			// normal backoff (the exit carries the probe's reason).
			out.stop(s, s.Probe.Failed, s.Probe.Message)
			kept = append(kept, stopped(s))
		case overMemoryLimit(s):
			// Above the memory limit for memoryLimitSamples samples in a
			// row: restart through the normal backoff.
			out.stop(s, ReasonMemoryLimitExceeded, memoryLimitMessage(s, in.app))
			kept = append(kept, stopped(s))
		default:
			kept = append(kept, s)
		}
	}
	live = kept
	for o := range out.slots {
		if o >= in.replicas && !hasOrdinal(live, o) {
			delete(out.slots, o)
		}
	}
	newRollout(in, live, &out).run()
	return out
}

// claim gives an ordinal whose slot knows no instance (its state was lost
// with a daemon killed before it saved) the observed process at the
// desired revision, so that its exits count as the slot's crashes.
func (out *output) claim(in input) {
	for _, s := range in.observed {
		if s.Revision != in.revision || in.revision == "" {
			continue
		}
		if sl := out.slots[s.Ordinal]; sl.UID == "" {
			out.slots[s.Ordinal] = slot{UID: s.UID, Revision: s.Revision, LastStartAt: s.StartedAt,
				Restarts: sl.Restarts, Failures: sl.Failures}
		}
	}
}

// absorbExit records an exited process in its slot and releases it.
func (out *output) absorbExit(in input, s runtime.State) {
	out.actions = append(out.actions, action{kind: actRelease, uid: s.UID})
	planned := s.Exit.Reason == ReasonStopped
	if planned {
		out.note(false, "Stopped", s.Instance, fmt.Sprintf("stopped (pid %d)", s.PID))
	} else {
		out.note(failedExit(s.Exit), "Exited", s.Instance, exitMessage(s))
	}
	sl, ok := out.slots[s.Ordinal]
	if !ok || sl.UID != s.UID {
		return // an instance of an older revision: nothing to remember
	}
	sl.LastExit = s.Exit
	if !planned && in.app != nil {
		if restartable(in.app.Spec.RestartPolicy, s.Exit) {
			sl.Failures, sl.NextStartAt = backoffFor(&in.app.Spec).failed(sl.Failures, s.StartedAt, s.Exit.At)
			sl.Crashed = true
			if d := sl.NextStartAt.Sub(in.now); d > 0 {
				out.note(true, "BackOff", s.Instance, fmt.Sprintf("back-off %s restarting failed instance", d.Round(time.Millisecond)))
			}
		} else {
			sl.Done = true
		}
	}
	out.slots[s.Ordinal] = sl
}

// restartable applies the restart policy to an exit that was not ours.
func restartable(p v1alpha1.RestartPolicy, e *v1alpha1.ExitStatus) bool {
	switch p {
	case v1alpha1.RestartNever:
		return false
	case v1alpha1.RestartOnFailure:
		return failedExit(e)
	default:
		return true
	}
}

// failedExit reports whether an exit is a failure: a non-zero code, a
// death by signal, or a kill by the supervisor. As in Kubernetes, the
// reason of the exit decides before its code: an instance killed for a
// failed liveness or startup probe, or for its memory, failed even when it
// exited 0 on SIGTERM (else OnFailure would leave a hung instance down,
// reported as Succeeded).
func failedExit(e *v1alpha1.ExitStatus) bool {
	return e.Code != 0 || e.Signal != "" || killedBySupervisor(e.Reason)
}

// killedBySupervisor reports whether reason is one of the restarts the
// daemon or the kernel imposes on an instance.
func killedBySupervisor(reason string) bool {
	switch reason {
	case runtime.ReasonLivenessProbeFailed, runtime.ReasonStartupProbeFailed, ReasonMemoryLimitExceeded, runtime.ReasonOOMKilled:
		return true
	}
	return false
}

func exitMessage(s runtime.State) string {
	if s.Exit.Signal != "" {
		return fmt.Sprintf("pid %d killed by %s (%s)", s.PID, s.Exit.Signal, s.Exit.Reason)
	}
	return fmt.Sprintf("pid %d exited with code %d (%s)", s.PID, s.Exit.Code, s.Exit.Reason)
}

// stopped is s as it is once the stop the plan asks for is under way.
func stopped(s runtime.State) runtime.State {
	s.Stopping = true
	return s
}

func hasOrdinal(live []runtime.State, o int) bool {
	for _, s := range live {
		if s.Ordinal == o {
			return true
		}
	}
	return false
}

func (out *output) stop(s runtime.State, reason, message string) {
	out.actions = append(out.actions, action{kind: actStop, ordinal: s.Ordinal, uid: s.UID, reason: reason, message: message})
}

// start asks for ordinal o at revision rev, resetting the slot when the
// revision is new (a new instance, with a new uid and no history).
func (out *output) start(o int, rev string, message string) {
	sl := out.slots[o]
	if sl.Revision != rev {
		sl = slot{Revision: rev}
	}
	if sl.Crashed {
		sl.Restarts++
	}
	sl.Crashed, sl.Done, sl.NextStartAt = false, false, time.Time{}
	out.slots[o] = sl
	out.actions = append(out.actions, action{kind: actStart, ordinal: o, message: message})
}

// started reports whether the plan starts anything.
func (out *output) started() bool {
	for _, a := range out.actions {
		if a.kind == actStart {
			return true
		}
	}
	return false
}

func (out *output) note(warning bool, reason, object, message string) {
	out.notes = append(out.notes, note{warning: warning, reason: reason, object: object, message: message})
}

// requeueAt asks to look again at t (the earliest of all such asks wins).
func (out *output) requeueAt(now, t time.Time) {
	d := t.Sub(now)
	if d <= 0 {
		d = time.Millisecond
	}
	if out.requeue == 0 || d < out.requeue {
		out.requeue = d
	}
}
