package reconciler

import (
	"fmt"
	"maps"
	"slices"
	"time"

	"proclet.dev/proclet/apis/v1alpha1"
	"proclet.dev/proclet/runtime"
)

// progress remembers how far the rollout of a revision got, for
// progressDeadlineSeconds. Progress is more updated or more available
// instances of the revision than at the last mark (a high-water mark, so
// that a crash loop, whose instances come and go, is no progress); a
// change of revision starts a new rollout. Once the rollout completed it
// stays complete until the next revision, as Kubernetes keeps
// NewReplicaSetAvailable: an app that later loses readiness is
// Available=False, not a stalled rollout.
type progress struct {
	revision           string
	updated, available int // the mark: the most of the revision's instances seen
	at                 time.Time
	complete           bool
}

// rolloutCounts are what progress is measured on: the desired revision's
// instances only.
type rolloutCounts struct {
	updated, available int // running (not stopping) at the revision; of them available
	done               int // ordinals the restart policy keeps down at the revision
	complete           bool
}

// advance is p after observing c at now for revision rev.
func (p progress) advance(rev string, c rolloutCounts, now time.Time) progress {
	if p.revision != rev || p.at.IsZero() {
		return progress{revision: rev, updated: c.updated, available: c.available, at: now, complete: c.complete}
	}
	if c.updated > p.updated || c.available > p.available {
		p.updated, p.available, p.at = max(p.updated, c.updated), max(p.available, c.available), now
	}
	p.complete = p.complete || c.complete
	return p
}

// deriveStatus recomputes the app's status and instances from desired and
// observed state. Status is derived, never authoritative. It returns when
// the status may change with no event (a rollout's progress deadline), or
// 0. Caller holds r.mu.
func (r *Reconciler) deriveStatus(st *appState, in input, observed []runtime.State, now time.Time) time.Duration {
	var view *v1alpha1.App
	if st.desired != nil {
		view = st.desired.App.DeepCopy()
	} else if st.applied != nil {
		view = st.applied.DeepCopy()
	} else {
		return 0
	}
	ro := &rollout{in: in}
	if in.app != nil {
		ro.minReady = seconds(in.app.Spec.MinReadySeconds)
	}
	var minReadyAt time.Duration // when a ready instance becomes available
	availUpdated := 0            // available instances at the desired revision
	insts := make([]v1alpha1.Instance, 0, len(observed)+in.replicas)
	covered := map[int]bool{}
	s := v1alpha1.AppStatus{Revision: st.revision, ObservedGeneration: st.generation, Conditions: []v1alpha1.Condition{}}
	if st.desired != nil {
		s.Source, s.SourceRevision = st.desired.Path, r.sourceRevision
	}
	for _, o := range observed {
		if !o.Running() {
			continue
		}
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
		if !o.Stopping {
			s.Replicas++
			if o.Probe.Ready {
				inst.Ready = true
				s.ReadyReplicas++
			}
			if o.Revision == st.revision {
				s.UpdatedReplicas++
				covered[o.Ordinal] = true
			}
			if ro.available(o) {
				s.AvailableReplicas++
				if o.Revision == st.revision {
					availUpdated++
				}
			} else if o.Probe.Ready {
				// Ready, not yet for minReadySeconds: look again then, so
				// that availableReplicas does not wait for an event.
				if d := o.Probe.ReadySince.Add(ro.minReady).Sub(now); d > 0 && (minReadyAt == 0 || d < minReadyAt) {
					minReadyAt = d
				}
			}
		}
		if sl, ok := st.slots[o.Ordinal]; ok && sl.UID == o.UID {
			inst.Restarts, inst.LastExit = sl.Restarts, sl.LastExit
		}
		insts = append(insts, inst)
	}
	for o := range in.replicas {
		if covered[o] {
			continue
		}
		sl := st.slots[o]
		if standsFor(liveOnly(observed), o, in.revision, sl) {
			continue
		}
		inst := v1alpha1.Instance{Name: instanceName(view.Metadata.Name, o), App: view.Metadata.Name, UID: sl.UID,
			Revision: in.revision, Phase: v1alpha1.PhasePending, Reason: "Waiting", Restarts: sl.Restarts,
			LastExit: sl.LastExit, Ports: map[string]int32{}, Listening: []int32{}}
		switch {
		case !r.synced:
			inst.Reason = "WaitingForManifests"
		case in.waiting != "" && !(sl.Revision == in.revision && sl.Done):
			inst.Reason, inst.Message = "WaitingForDependency", in.waiting
		case sl.Revision == in.revision && sl.StartError != "":
			inst.Phase, inst.Reason, inst.Message = v1alpha1.PhaseFailed, sl.StartReason, sl.StartError
			if sl.StartReason == "PortInUse" {
				inst.Phase = v1alpha1.PhasePending
			}
			next := sl.NextStartAt
			inst.NextStartAt = &next
		case sl.Revision == in.revision && sl.Done && sl.LastExit != nil && !failedExit(sl.LastExit):
			inst.Phase, inst.Reason = v1alpha1.PhaseSucceeded, "Completed"
		case sl.Revision == in.revision && sl.Done && sl.LastExit != nil && killedBySupervisor(sl.LastExit.Reason):
			inst.Phase, inst.Reason = v1alpha1.PhaseFailed, sl.LastExit.Reason
		case sl.Revision == in.revision && sl.Done:
			inst.Phase, inst.Reason = v1alpha1.PhaseFailed, "Error"
		case sl.Revision == in.revision && sl.NextStartAt.After(now):
			inst.Reason = "CrashLoopBackOff"
			next := sl.NextStartAt
			inst.NextStartAt = &next
			inst.Message = fmt.Sprintf("back-off restarting failed instance, next start at %s", next.Format(time.RFC3339))
		}
		insts = append(insts, inst)
	}
	slices.SortStableFunc(insts, func(a, b v1alpha1.Instance) int {
		if c := ordinalOf(a.Name) - ordinalOf(b.Name); c != 0 {
			return c
		}
		return boolInt(a.Revision == st.revision) - boolInt(b.Revision == st.revision)
	})
	var recheck time.Duration
	s.Conditions, recheck = r.conditions(st, in, s, rolloutCountsOf(st, in, s, availUpdated), now)
	view.Status = &s
	st.view, st.instances = view, insts
	if minReadyAt > 0 && (recheck <= 0 || minReadyAt < recheck) {
		recheck = minReadyAt
	}
	return recheck
}

// standsFor reports whether a live process of ordinal o (an older revision,
// a stopping one) stands for it in the instance list: unless the ordinal's
// instance at the desired revision is down with something to say (waiting
// out its backoff beside the old instance it replaces, a failed start, kept
// down by its restart policy), which is then listed too.
func standsFor(live []runtime.State, o int, rev string, sl slot) bool {
	if !hasOrdinal(live, o) {
		return false
	}
	if sl.Revision != rev || sl.UID == "" {
		return true
	}
	for _, s := range live {
		if s.Ordinal == o && s.Revision == rev {
			return true
		}
	}
	return false
}

func liveOnly(obs []runtime.State) []runtime.State {
	var out []runtime.State
	for _, o := range obs {
		if o.Running() {
			out = append(out, o)
		}
	}
	return out
}

func ordinalOf(instance string) int {
	n, mul := 0, 1
	for i := len(instance) - 1; i >= 0 && instance[i] >= '0' && instance[i] <= '9'; i-- {
		n += int(instance[i]-'0') * mul
		mul *= 10
	}
	return n
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// conditions derives Available, Progressing and ManifestValid, keeping each
// one's lastTransitionTime while its status stays the same.
func (r *Reconciler) conditions(st *appState, in input, s v1alpha1.AppStatus, rc rolloutCounts, now time.Time) ([]v1alpha1.Condition, time.Duration) {
	var recheck time.Duration
	var prev []v1alpha1.Condition
	if st.view != nil && st.view.Status != nil {
		prev = st.view.Status.Conditions
	}
	want := int32(in.replicas)
	var conds []v1alpha1.Condition
	if in.app != nil {
		_, unavail := rollingBounds(&in.app.Spec, in.replicas)
		minAvail := max(want-int32(unavail), 0)
		switch {
		case !r.nodeMatches(in.app):
			conds = append(conds, cond(v1alpha1.ConditionAvailable, v1alpha1.ConditionTrue, "NodeSelectorMismatch",
				"the node selector does not match this host's labels: no instances run here"))
		case s.AvailableReplicas >= minAvail:
			conds = append(conds, cond(v1alpha1.ConditionAvailable, v1alpha1.ConditionTrue, "MinimumReplicasAvailable",
				fmt.Sprintf("%d of %d instances available", s.AvailableReplicas, want)))
		default:
			conds = append(conds, cond(v1alpha1.ConditionAvailable, v1alpha1.ConditionFalse, "MinimumReplicasUnavailable",
				fmt.Sprintf("%d of %d instances available, %d needed", s.AvailableReplicas, want, minAvail)))
		}
		var c v1alpha1.Condition
		c, recheck = st.progressing(in.app, want, s, rc, now)
		conds = append(conds, c)
	}
	if st.fileErr != nil {
		conds = append(conds, cond(v1alpha1.ConditionManifestValid, v1alpha1.ConditionFalse, st.fileErr.Reason,
			st.fileErr.Error()+"; running the last valid version"))
	} else {
		conds = append(conds, cond(v1alpha1.ConditionManifestValid, v1alpha1.ConditionTrue, "Applied", ""))
	}
	if in.app != nil {
		if c, ok := limitsCondition(&in.app.Spec, r.limits); ok {
			conds = append(conds, c)
		}
	}
	for i := range conds {
		conds[i].LastTransitionTime = now
		for _, p := range prev {
			if p.Type == conds[i].Type && p.Status == conds[i].Status {
				conds[i].LastTransitionTime = p.LastTransitionTime
			}
		}
	}
	return conds, recheck
}

func cond(typ string, status v1alpha1.ConditionStatus, reason, message string) v1alpha1.Condition {
	return v1alpha1.Condition{Type: typ, Status: status, Reason: reason, Message: message}
}

// rolloutCountsOf measures the rollout of the desired revision: complete
// when no instance of another revision runs and every ordinal is available
// at the revision or kept down by its restart policy (a finished OnFailure
// app is complete, not a rollout in progress forever).
func rolloutCountsOf(st *appState, in input, s v1alpha1.AppStatus, availUpdated int) rolloutCounts {
	c := rolloutCounts{updated: int(s.UpdatedReplicas), available: availUpdated}
	for o := range in.replicas {
		if sl := st.slots[o]; sl.Revision == st.revision && sl.Done {
			c.done++
		}
	}
	c.complete = s.Replicas == s.UpdatedReplicas && c.available == c.updated && c.updated+c.done == in.replicas
	return c
}

// progressing derives the Progressing condition and when to look again
// (the deadline), advancing st.progress.
func (st *appState) progressing(app *v1alpha1.App, want int32, s v1alpha1.AppStatus, c rolloutCounts, now time.Time) (v1alpha1.Condition, time.Duration) {
	st.progress = st.progress.advance(st.revision, c, now)
	deadline := seconds(v1alpha1.DefaultProgressDeadlineSeconds)
	if d := app.Spec.ProgressDeadlineSeconds; d != nil {
		deadline = seconds(*d)
	}
	switch {
	case c.complete && c.done == 0:
		return cond(v1alpha1.ConditionProgressing, v1alpha1.ConditionTrue, "NewRevisionAvailable",
			fmt.Sprintf("revision %s is available on every instance", st.revision)), 0
	case c.complete:
		return cond(v1alpha1.ConditionProgressing, v1alpha1.ConditionTrue, "NewRevisionAvailable",
			fmt.Sprintf("revision %s is available on %d instances and completed on %d", st.revision, c.available, c.done)), 0
	case st.progress.complete:
		return cond(v1alpha1.ConditionProgressing, v1alpha1.ConditionTrue, "NewRevisionAvailable",
			fmt.Sprintf("revision %s completed its rollout; %d of %d instances available now", st.revision, s.AvailableReplicas, want)), 0
	case now.Sub(st.progress.at) >= deadline:
		return cond(v1alpha1.ConditionProgressing, v1alpha1.ConditionFalse, "ProgressDeadlineExceeded",
			fmt.Sprintf("revision %s has not progressed for %s", st.revision, deadline)), 0
	default:
		return cond(v1alpha1.ConditionProgressing, v1alpha1.ConditionTrue, "RolloutInProgress",
			fmt.Sprintf("%d of %d instances at revision %s", s.UpdatedReplicas, want, st.revision)), st.progress.at.Add(deadline).Sub(now)
	}
}
