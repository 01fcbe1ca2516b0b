package reconciler

import (
	"fmt"
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
	for i := range conds {
		conds[i].LastTransitionTime = in.now
		for _, p := range prev {
			if p.Type == conds[i].Type && p.Status == conds[i].Status {
				conds[i].LastTransitionTime = p.LastTransitionTime
			}
		}
	}
	return conds, prog, recheck
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
