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
	nodeMatches    bool              // pass.app's node selector matches this host
	nodeLabels     map[string]string // this host's labels (never modified)
	limits         runtime.LimitSupport
	now            time.Time
	job            *jobState // a Job's runs after the pass (jobderive.go)
}

// derivedStatus is what deriveStatus returns: the view and instances
// readers see, the rollout's progress, and when the status may change
// with no event (a rollout's progress deadline, minReadySeconds), or 0.
type derivedStatus struct {
	view      *v1alpha1.App // nil: nothing to show (no desired nor applied spec)
	instances []v1alpha1.Instance
	progress  progress
	recheck   time.Duration
	job       *v1alpha1.Job     // a Job's view (deriveJob), instead of view
	cron      *v1alpha1.CronJob // a CronJob's view, instead of view
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
		if c := in.desired.Content; c != nil {
			s.Files = c.Sources // never modified: the watcher makes a new Content on a change
		}
	}
	if in.pass.app != nil && !in.nodeMatches {
		s.State = v1alpha1.AppNotScheduled
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
	case setInitPhase(&inst, o): // initphase.go
		return inst
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
		inst.Phase, inst.Reason = v1alpha1.PhaseFailed, doneFailedReason(sl.LastExit)
	case atRev && sl.NextStartAt.After(in.now):
		next := sl.NextStartAt
		inst.NextStartAt = &next
		inst.Reason, inst.Message = backOffReason(sl.LastExit, next.Format(time.RFC3339)) // initphase.go
	}
	return inst
}

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
// one's lastTransitionTime while its status stays the same; it returns the
// rollout's progress and when to look again (the progress deadline), or 0.
func conditions(in statusInput, s v1alpha1.AppStatus, rc rolloutCounts) ([]v1alpha1.Condition, progress, time.Duration) {
	var recheck time.Duration
	prog := in.progress
	app := in.pass.app
	want := int32(in.pass.replicas)
	var conds []v1alpha1.Condition
	if app != nil {
		_, unavail := rollingBounds(&app.Spec, in.pass.replicas)
		minAvail := max(want-int32(unavail), 0)
		switch {
		case !in.nodeMatches:
			conds = append(conds, cond(v1alpha1.ConditionAvailable, v1alpha1.ConditionTrue, "NodeSelectorMismatch",
				"the node selector does not match this host's labels: no instances run here"))
		case s.AvailableReplicas >= minAvail:
			conds = append(conds, cond(v1alpha1.ConditionAvailable, v1alpha1.ConditionTrue, "MinimumReplicasAvailable",
				fmt.Sprintf("%d of %d instances available", s.AvailableReplicas, want)))
		default:
			conds = append(conds, cond(v1alpha1.ConditionAvailable, v1alpha1.ConditionFalse, "MinimumReplicasUnavailable",
				fmt.Sprintf("%d of %d instances available, %d needed", s.AvailableReplicas, want, minAvail)))
		}
		if !in.nodeMatches {
			conds = append(conds, notScheduled(app.Spec.NodeSelector, in.nodeLabels))
		}
		prog = prog.advance(in.revision, rc, in.now)
		var c v1alpha1.Condition
		c, recheck = progressing(app, in.revision, prog, want, s, rc, in.now)
		conds = append(conds, c)
	}
	if in.fileErr != nil {
		conds = append(conds, cond(v1alpha1.ConditionManifestValid, v1alpha1.ConditionFalse, in.fileErr.Reason,
			in.fileErr.Error()+"; running the last valid version"))
	} else {
		conds = append(conds, cond(v1alpha1.ConditionManifestValid, v1alpha1.ConditionTrue, "Applied", ""))
	}
	if app != nil {
		if c, ok := limitsCondition(&app.Spec, in.limits); ok {
			conds = append(conds, c)
		}
	}
	var prev []v1alpha1.Condition
	if in.prev != nil && in.prev.Status != nil {
		prev = in.prev.Status.Conditions
	}
	keepTransitions(conds, prev, in.now)
	return conds, prog, recheck
}

// keepTransitions stamps each of conds with now as its
// lastTransitionTime, unless prev (the last derived conditions) has it
// with the same status: then it keeps that condition's time.
func keepTransitions(conds, prev []v1alpha1.Condition, now time.Time) {
	for i := range conds {
		conds[i].LastTransitionTime = now
		for _, p := range prev {
			if p.Type == conds[i].Type && p.Status == conds[i].Status {
				conds[i].LastTransitionTime = p.LastTransitionTime
			}
		}
	}
}

// notScheduled is the Scheduled=False condition of an app whose node
// selector does not match this host's labels: it names both, sorted.
func notScheduled(selector, labels map[string]string) v1alpha1.Condition {
	return cond(v1alpha1.ConditionScheduled, v1alpha1.ConditionFalse, string(v1alpha1.AppNotScheduled),
		fmt.Sprintf("nodeSelector {%s} does not match this node's labels {%s}: no instances run here",
			joinLabels(selector), joinLabels(labels)))
}

// joinLabels is k=v,k=v sorted by key.
func joinLabels(m map[string]string) string {
	var b []byte
	for i, k := range slices.Sorted(maps.Keys(m)) {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, k+"="+m[k]...)
	}
	return string(b)
}

func cond(typ string, status v1alpha1.ConditionStatus, reason, message string) v1alpha1.Condition {
	return v1alpha1.Condition{Type: typ, Status: status, Reason: reason, Message: message}
}

// rolloutCountsOf measures the rollout of the desired revision: complete
// when no instance of another revision runs and every ordinal is available
// at the revision or kept down by its restart policy (a finished OnFailure
// app is complete, not a rollout in progress forever).
func rolloutCountsOf(in statusInput, s v1alpha1.AppStatus, availUpdated int) rolloutCounts {
	c := rolloutCounts{updated: int(s.UpdatedReplicas), available: availUpdated}
	for o := range in.pass.replicas {
		if sl := in.slots[o]; sl.Revision == in.revision && sl.Done {
			c.done++
		}
	}
	c.complete = s.Replicas == s.UpdatedReplicas && c.available == c.updated && c.updated+c.done == in.pass.replicas
	return c
}

// progressing derives the Progressing condition of revision rev, whose
// rollout got as far as prog, and when to look again (the deadline).
func progressing(app *v1alpha1.App, rev string, prog progress, want int32, s v1alpha1.AppStatus, c rolloutCounts, now time.Time) (v1alpha1.Condition, time.Duration) {
	deadline := seconds(v1alpha1.DefaultProgressDeadlineSeconds)
	if d := app.Spec.ProgressDeadlineSeconds; d != nil {
		deadline = seconds(*d)
	}
	switch {
	case c.complete && c.done == 0:
		return cond(v1alpha1.ConditionProgressing, v1alpha1.ConditionTrue, "NewRevisionAvailable",
			fmt.Sprintf("revision %s is available on every instance", rev)), 0
	case c.complete:
		return cond(v1alpha1.ConditionProgressing, v1alpha1.ConditionTrue, "NewRevisionAvailable",
			fmt.Sprintf("revision %s is available on %d instances and completed on %d", rev, c.available, c.done)), 0
	case prog.complete:
		return cond(v1alpha1.ConditionProgressing, v1alpha1.ConditionTrue, "NewRevisionAvailable",
			fmt.Sprintf("revision %s completed its rollout; %d of %d instances available now", rev, s.AvailableReplicas, want)), 0
	case now.Sub(prog.at) >= deadline:
		return cond(v1alpha1.ConditionProgressing, v1alpha1.ConditionFalse, "ProgressDeadlineExceeded",
			fmt.Sprintf("revision %s has not progressed for %s", rev, deadline)), 0
	default:
		return cond(v1alpha1.ConditionProgressing, v1alpha1.ConditionTrue, "RolloutInProgress",
			fmt.Sprintf("%d of %d instances at revision %s", s.UpdatedReplicas, want, rev)), prog.at.Add(deadline).Sub(now)
	}
}
