package reconciler

import (
	"fmt"
	"maps"
	"slices"
	"time"

	"proclet.dev/proclet/apis/v1alpha1"
	"proclet.dev/proclet/runtime"
)

// statusInput is everything an app's status is derived from: what the
// reconciler holds of the app now, the pass that just ran, and what the
// runtime observed after it.
type statusInput struct {
	desired    *v1alpha1.SourcedApp // nil once removed
	applied    *v1alpha1.App        // the spec last reconciled: the view of a removed app
	revision   string               // the desired revision
	generation int64
	fileErr    *v1alpha1.FileError // ManifestValid=False
	slots      map[int]slot
	prev       *v1alpha1.App // the last derived view: conditions keep their lastTransitionTime
	progress   progress      // the rollout's progress so far
	// pass is the plan's input: the desired app (nil once removed), its
	// replicas, an unmet dependency.
	pass           input
	observed       []runtime.State
	synced         bool // the first full snapshot has arrived
	sourceRevision string
	nodeMatches    bool // pass.app's node selector matches this host
	limits         runtime.LimitSupport
	now            time.Time
}

// derivedStatus is what deriveStatus returns: the view and instances
// readers see, the rollout's progress, and when the status may change
// with no event (a rollout's progress deadline, minReadySeconds), or 0.
type derivedStatus struct {
	view      *v1alpha1.App // nil: nothing to show (no desired nor applied spec)
	instances []v1alpha1.Instance
	progress  progress
	recheck   time.Duration
}

// deriveStatus computes an app's status and instances from desired and
// observed state. Status is derived, never authoritative. It is pure: no
// lock, no clock, nothing it reads is modified.
func deriveStatus(in statusInput) derivedStatus {
	var view *v1alpha1.App
	switch {
	case in.desired != nil:
		view = in.desired.App.DeepCopy()
	case in.applied != nil:
		view = in.applied.DeepCopy()
	default:
		return derivedStatus{progress: in.progress}
	}
	s := v1alpha1.AppStatus{Revision: in.revision, ObservedGeneration: in.generation, Conditions: []v1alpha1.Condition{}}
	if in.desired != nil {
		s.Source, s.SourceRevision = in.desired.Path, in.sourceRevision
	}
	insts, live := liveInstances(in, &s)
	for o := range in.pass.replicas {
		if live.covered[o] {
			continue
		}
		sl := in.slots[o]
		if standsFor(liveOnly(in.observed), o, in.pass.revision, sl) {
			continue
		}
		insts = append(insts, pendingInstance(in, view.Metadata.Name, o, sl))
	}
	slices.SortStableFunc(insts, func(a, b v1alpha1.Instance) int {
		if c := ordinalOf(a.Name) - ordinalOf(b.Name); c != 0 {
			return c
		}
		return boolInt(a.Revision == in.revision) - boolInt(b.Revision == in.revision)
	})
	out := derivedStatus{instances: insts}
	s.Conditions, out.progress, out.recheck = conditions(in, s, rolloutCountsOf(in, s, live.availUpdated))
	view.Status = &s
	out.view = view
	if live.minReadyAt > 0 && (out.recheck <= 0 || live.minReadyAt < out.recheck) {
		out.recheck = live.minReadyAt
	}
	return out
}

// liveCounts is what liveInstances learns beyond the instances.
type liveCounts struct {
	covered      map[int]bool  // ordinals with a live instance at the desired revision
	availUpdated int           // available instances at the desired revision
	minReadyAt   time.Duration // when a ready instance becomes available (0: none waits)
}

// liveInstances lists the running processes as instances and counts them
// into s (replicas, ready, updated, available).
func liveInstances(in statusInput, s *v1alpha1.AppStatus) ([]v1alpha1.Instance, liveCounts) {
	ro := &rollout{in: in.pass}
	if in.pass.app != nil {
		ro.minReady = seconds(in.pass.app.Spec.MinReadySeconds)
	}
	c := liveCounts{covered: map[int]bool{}}
	insts := make([]v1alpha1.Instance, 0, len(in.observed)+in.pass.replicas)
	for _, o := range in.observed {
		if !o.Running() {
			continue
		}
		inst := runningInstance(o)
		if !o.Stopping {
			s.Replicas++
			if o.Probe.Ready {
				inst.Ready = true
				s.ReadyReplicas++
			}
			if o.Revision == in.revision {
				s.UpdatedReplicas++
				c.covered[o.Ordinal] = true
			}
			if ro.available(o) {
				s.AvailableReplicas++
				if o.Revision == in.revision {
					c.availUpdated++
				}
			} else if o.Probe.Ready {
				// Ready, not yet for minReadySeconds: look again then, so
				// that availableReplicas does not wait for an event.
				if d := o.Probe.ReadySince.Add(ro.minReady).Sub(in.now); d > 0 && (c.minReadyAt == 0 || d < c.minReadyAt) {
					c.minReadyAt = d
				}
			}
		}
		if sl, ok := in.slots[o.Ordinal]; ok && sl.UID == o.UID {
			inst.Restarts, inst.LastExit = sl.Restarts, sl.LastExit
		}
		insts = append(insts, inst)
	}
	return insts, c
}

// runningInstance is the instance of a running process: Running,
// Terminating while it stops, Starting until its startup probe passed.
func runningInstance(o runtime.State) v1alpha1.Instance {
	inst := v1alpha1.Instance{Name: o.Instance, App: o.App, UID: o.UID, Revision: o.Revision, PID: o.PID,
		Phase: v1alpha1.PhaseRunning, Ports: map[string]int32{}, Listening: []int32{}}
	maps.Copy(inst.Ports, o.Ports)
	inst.CPUSeconds, inst.CPUPercent, inst.MemoryBytes = o.Usage.CPUSeconds, o.Usage.CPUPercent, o.Usage.MemoryBytes
	if o.Usage.Listening != nil {
		inst.Listening = slices.Clone(o.Usage.Listening)
	}
	started := o.StartedAt
	inst.StartedAt = &started
	switch {
	case o.Stopping:
		inst.Phase = v1alpha1.PhaseTerminating
	case !o.Probe.Started:
		inst.Phase, inst.Reason = v1alpha1.PhaseStarting, "StartupProbePending"
	}
	inst.Message = runningMessage(o)
	return inst
}

// pendingInstance is the instance of ordinal o of app when no process
// stands for it: why it is not running, from its slot.
func pendingInstance(in statusInput, app string, o int, sl slot) v1alpha1.Instance {
	rev := in.pass.revision
	inst := v1alpha1.Instance{Name: instanceName(app, o), App: app, UID: sl.UID,
		Revision: rev, Phase: v1alpha1.PhasePending, Reason: "Waiting", Restarts: sl.Restarts,
		LastExit: sl.LastExit, Ports: map[string]int32{}, Listening: []int32{}}
	atRev := sl.Revision == rev
	switch {
	case !in.synced:
		inst.Reason = "WaitingForManifests"
	case in.pass.waiting != "" && !(atRev && sl.Done):
		inst.Reason, inst.Message = "WaitingForDependency", in.pass.waiting
	case atRev && sl.StartError != "":
		inst.Phase, inst.Reason, inst.Message = v1alpha1.PhaseFailed, sl.StartReason, sl.StartError
		if sl.StartReason == "PortInUse" {
			inst.Phase = v1alpha1.PhasePending
		}
		next := sl.NextStartAt
		inst.NextStartAt = &next
	case atRev && sl.Done && sl.LastExit != nil && !failedExit(sl.LastExit):
		inst.Phase, inst.Reason = v1alpha1.PhaseSucceeded, "Completed"
	case atRev && sl.Done && sl.LastExit != nil && killedBySupervisor(sl.LastExit.Reason):
		inst.Phase, inst.Reason = v1alpha1.PhaseFailed, sl.LastExit.Reason
	case atRev && sl.Done:
		inst.Phase, inst.Reason = v1alpha1.PhaseFailed, "Error"
	case atRev && sl.NextStartAt.After(in.now):
		inst.Reason = "CrashLoopBackOff"
		next := sl.NextStartAt
		inst.NextStartAt = &next
		inst.Message = fmt.Sprintf("back-off restarting failed instance, next start at %s", next.Format(time.RFC3339))
	}
	return inst
}
