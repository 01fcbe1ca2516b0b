package reconciler

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"proclet.dev/proclet/apis/v1alpha1"
	"proclet.dev/proclet/runtime"
)

// statusFor is the status input of web (testApp) at revision B with the
// given replicas after a pass at t0: synced, on a matching node, nothing
// observed, no slots.
func statusFor(replicas int32, mods ...func(*v1alpha1.AppSpec)) statusInput {
	app := testApp(replicas, mods...)
	sa := &v1alpha1.SourcedApp{App: *app, Path: "web.yaml"}
	return statusInput{desired: sa, revision: "B", generation: 2, slots: map[int]slot{},
		pass:   input{app: &sa.App, revision: "B", replicas: int(replicas), synced: true, now: t0},
		synced: true, sourceRevision: "git-1", nodeMatches: true, now: t0}
}

// instanceSummary renders instances as "web-0 Pending/CrashLoopBackOff@B".
func instanceSummary(insts []v1alpha1.Instance) []string {
	var out []string
	for _, i := range insts {
		s := fmt.Sprintf("%s %s/%s@%s", i.Name, i.Phase, i.Reason, i.Revision)
		if i.Ready {
			s += " ready"
		}
		out = append(out, s)
	}
	return out
}

// conditionSummary renders conditions as "Available=True/MinimumReplicasAvailable".
func conditionSummary(conds []v1alpha1.Condition) []string {
	var out []string
	for _, c := range conds {
		out = append(out, fmt.Sprintf("%s=%s/%s", c.Type, c.Status, c.Reason))
	}
	return out
}

var (
	manifestOK   = "ManifestValid=True/Applied"
	availableOK  = "Available=True/MinimumReplicasAvailable"
	availableNot = "Available=False/MinimumReplicasUnavailable"
	newRevision  = "Progressing=True/NewRevisionAvailable"
	inProgress   = "Progressing=True/RolloutInProgress"
)

// TestDeriveStatus is the specification of an app's status: each
// instance's phase and reason, and the app's conditions, from what the
// reconciler holds and what the runtime observed.
func TestDeriveStatus(t *testing.T) {
	done := func(code int, reason string) slot {
		return slot{UID: "u0", Revision: "B", Done: true, LastExit: &v1alpha1.ExitStatus{Code: code, Reason: reason, At: t0}}
	}
	tests := []struct {
		name    string
		in      statusInput
		mod     func(*statusInput)
		insts   []string
		conds   []string
		recheck time.Duration
	}{
		{name: "running and ready", in: statusFor(1), mod: func(in *statusInput) {
			in.observed = []runtime.State{run(0, "B", t0.Add(-time.Minute))}
		}, insts: []string{"web-0 Running/@B ready"}, conds: []string{availableOK, newRevision, manifestOK}},
		{name: "not synced: waiting for the manifests", in: statusFor(1), mod: func(in *statusInput) { in.synced = false },
			insts: []string{"web-0 Pending/WaitingForManifests@B"}, conds: []string{availableNot, inProgress, manifestOK},
			recheck: 600 * time.Second},
		{name: "an unmet dependency", in: statusFor(1), mod: func(in *statusInput) { in.pass.waiting = `waiting for app "db"` },
			insts: []string{"web-0 Pending/WaitingForDependency@B"}, conds: []string{availableNot, inProgress, manifestOK},
			recheck: 600 * time.Second},
		{name: "crash loop back-off", in: statusFor(1), mod: func(in *statusInput) {
			in.slots[0] = slot{UID: "u0", Revision: "B", Restarts: 3, NextStartAt: t0.Add(10 * time.Second)}
		}, insts: []string{"web-0 Pending/CrashLoopBackOff@B"}, conds: []string{availableNot, inProgress, manifestOK},
			recheck: 600 * time.Second},
		{name: "back-off over: waiting for the pass that starts it", in: statusFor(1), mod: func(in *statusInput) {
			in.slots[0] = slot{UID: "u0", Revision: "B", NextStartAt: t0}
		}, insts: []string{"web-0 Pending/Waiting@B"}, conds: []string{availableNot, inProgress, manifestOK},
			recheck: 600 * time.Second},
		{name: "failed start", in: statusFor(1), mod: func(in *statusInput) {
			in.slots[0] = slot{UID: "u0", Revision: "B", StartError: "no such file", StartReason: "StartFailed", NextStartAt: t0.Add(time.Second)}
		}, insts: []string{"web-0 Failed/StartFailed@B"}, conds: []string{availableNot, inProgress, manifestOK},
			recheck: 600 * time.Second},
		{name: "port in use stays pending", in: statusFor(1), mod: func(in *statusInput) {
			in.slots[0] = slot{UID: "u0", Revision: "B", StartError: "port 80 in use", StartReason: "PortInUse"}
		}, insts: []string{"web-0 Pending/PortInUse@B"}, conds: []string{availableNot, inProgress, manifestOK},
			recheck: 600 * time.Second},
		{name: "completed: succeeded, the rollout is done", in: statusFor(1), mod: func(in *statusInput) { in.slots[0] = done(0, "Completed") },
			insts: []string{"web-0 Succeeded/Completed@B"}, conds: []string{availableNot, newRevision, manifestOK}},
		{name: "exited with an error, kept down", in: statusFor(1), mod: func(in *statusInput) { in.slots[0] = done(1, "Error") },
			insts: []string{"web-0 Failed/Error@B"}, conds: []string{availableNot, newRevision, manifestOK}},
		{name: "killed by its liveness probe, kept down", in: statusFor(1), mod: func(in *statusInput) {
			in.slots[0] = done(0, runtime.ReasonLivenessProbeFailed)
		}, insts: []string{"web-0 Failed/LivenessProbeFailed@B"}, conds: []string{availableNot, newRevision, manifestOK}},
		{name: "startup probe pending", in: statusFor(1), mod: func(in *statusInput) {
			s := unready(run(0, "B", t0))
			s.Probe.Started = false
			in.observed = []runtime.State{s}
		}, insts: []string{"web-0 Starting/StartupProbePending@B"}, conds: []string{availableNot, inProgress, manifestOK},
			recheck: 600 * time.Second},
		{name: "terminating is no replica", in: statusFor(1), mod: func(in *statusInput) {
			in.observed = []runtime.State{stopping(run(0, "B", t0.Add(-time.Minute)))}
		}, insts: []string{"web-0 Terminating/@B"}, conds: []string{availableNot, inProgress, manifestOK},
			recheck: 600 * time.Second},
		{name: "a broken file: the last valid version runs", in: statusFor(1), mod: func(in *statusInput) {
			in.observed = []runtime.State{run(0, "B", t0.Add(-time.Minute))}
			in.fileErr = &v1alpha1.FileError{File: "web.yaml", Reason: v1alpha1.ReasonInvalid, Message: "bad"}
		}, insts: []string{"web-0 Running/@B ready"}, conds: []string{availableOK, newRevision, "ManifestValid=False/Invalid"}},
		{name: "a rollout in progress: the old revision serves", in: statusFor(2), mod: func(in *statusInput) {
			in.observed = []runtime.State{run(0, "B", t0.Add(-time.Minute)), run(1, "A", t0.Add(-time.Hour))}
			in.slots = slotsFor(in.observed...)
			in.progress = progress{revision: "B", updated: 1, available: 1, at: t0.Add(-time.Minute)}
		}, insts: []string{"web-0 Running/@B ready", "web-1 Running/@A ready"}, conds: []string{availableOK, inProgress, manifestOK},
			recheck: 540 * time.Second},
		{name: "no progress for the deadline", in: statusFor(1, func(s *v1alpha1.AppSpec) { s.ProgressDeadlineSeconds = ptr(int32(30)) }),
			mod: func(in *statusInput) {
				in.observed = []runtime.State{run(0, "A", t0.Add(-time.Hour))}
				in.slots[0] = slot{UID: "u1", Revision: "B", Restarts: 4, NextStartAt: t0.Add(8 * time.Second)}
				in.progress = progress{revision: "B", at: t0.Add(-30 * time.Second)}
			}, insts: []string{"web-0 Running/@A ready", "web-0 Pending/CrashLoopBackOff@B"},
			conds: []string{availableOK, "Progressing=False/ProgressDeadlineExceeded", manifestOK}},
		{name: "a completed rollout that lost readiness is not stalled", in: statusFor(1), mod: func(in *statusInput) {
			in.observed = []runtime.State{unready(run(0, "B", t0.Add(-time.Hour)))}
			in.progress = progress{revision: "B", updated: 1, available: 1, at: t0.Add(-time.Hour), complete: true}
		}, insts: []string{"web-0 Running/@B"}, conds: []string{availableNot, newRevision, manifestOK}},
		{name: "ready, not yet for minReadySeconds", in: statusFor(1, func(s *v1alpha1.AppSpec) { s.MinReadySeconds = 10 }),
			mod:   func(in *statusInput) { in.observed = []runtime.State{run(0, "B", t0.Add(-2*time.Second))} },
			insts: []string{"web-0 Running/@B ready"}, conds: []string{availableNot, inProgress, manifestOK}, recheck: 8 * time.Second},
		{name: "node selector mismatch: nothing runs here", in: statusFor(1), mod: func(in *statusInput) {
			in.nodeMatches, in.pass.replicas = false, 0
		}, conds: []string{"Available=True/NodeSelectorMismatch", "Scheduled=False/NotScheduled", newRevision, manifestOK}},
		{name: "removed: the applied spec's view, its instance stopping", in: statusFor(1), mod: func(in *statusInput) {
			in.applied, in.desired, in.pass.app, in.pass.replicas = &in.desired.App, nil, nil, 0
			in.observed = []runtime.State{stopping(run(0, "B", t0.Add(-time.Minute)))}
		}, insts: []string{"web-0 Terminating/@B"}, conds: []string{manifestOK}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := tc.in
			if tc.mod != nil {
				tc.mod(&in)
			}
			got := deriveStatus(in)
			if got.view == nil {
				t.Fatal("no view")
			}
			if g := instanceSummary(got.instances); !slices.Equal(g, tc.insts) {
				t.Errorf("instances\n got %q\nwant %q", g, tc.insts)
			}
			if g := conditionSummary(got.view.Status.Conditions); !slices.Equal(g, tc.conds) {
				t.Errorf("conditions\n got %q\nwant %q", g, tc.conds)
			}
			if got.recheck != tc.recheck {
				t.Errorf("recheck %s, want %s", got.recheck, tc.recheck)
			}
		})
	}
}

// The status's counts, source and messages, and what deriveStatus leaves
// alone: a condition keeps its lastTransitionTime while its status stays,
// and an app with neither a desired nor an applied spec has no view.
func TestDeriveStatus_CountsAndTransitions(t *testing.T) {
	in := statusFor(3)
	in.observed = []runtime.State{run(0, "B", t0.Add(-time.Minute)), unready(run(1, "B", t0)), run(2, "A", t0.Add(-time.Hour))}
	in.slots = slotsFor(in.observed...)
	in.slots[0] = slot{UID: in.observed[0].UID, Revision: "B", Restarts: 2}
	in.prev = &v1alpha1.App{Status: &v1alpha1.AppStatus{Conditions: []v1alpha1.Condition{
		{Type: v1alpha1.ConditionAvailable, Status: v1alpha1.ConditionTrue, LastTransitionTime: t0.Add(-time.Hour)},
		{Type: v1alpha1.ConditionProgressing, Status: v1alpha1.ConditionTrue, LastTransitionTime: t0.Add(-time.Hour)},
		{Type: v1alpha1.ConditionManifestValid, Status: v1alpha1.ConditionFalse, LastTransitionTime: t0.Add(-time.Hour)},
	}}}
	before := deepCopyInput(in)
	got := deriveStatus(in)
	s := got.view.Status
	want := v1alpha1.AppStatus{Replicas: 3, ReadyReplicas: 2, UpdatedReplicas: 2, AvailableReplicas: 2, Revision: "B",
		ObservedGeneration: 2, Source: "web.yaml", SourceRevision: "git-1"}
	if s.Replicas != want.Replicas || s.ReadyReplicas != want.ReadyReplicas || s.UpdatedReplicas != want.UpdatedReplicas ||
		s.AvailableReplicas != want.AvailableReplicas || s.Revision != want.Revision || s.ObservedGeneration != want.ObservedGeneration ||
		s.Source != want.Source || s.SourceRevision != want.SourceRevision {
		t.Errorf("status %+v, want the counts of %+v", *s, want)
	}
	if got.instances[0].Restarts != 2 || got.instances[1].Restarts != 0 {
		t.Errorf("restarts %d %d, want the slot's 2 on its uid only", got.instances[0].Restarts, got.instances[1].Restarts)
	}
	for _, c := range s.Conditions {
		wantAt := t0
		if c.Type == v1alpha1.ConditionProgressing {
			wantAt = t0.Add(-time.Hour) // True before and after; the others changed
		}
		if !c.LastTransitionTime.Equal(wantAt) {
			t.Errorf("%s changed at %s, want %s", c.Type, c.LastTransitionTime, wantAt)
		}
		if c.Type == v1alpha1.ConditionProgressing && !strings.Contains(c.Message, "2 of 3 instances at revision B") {
			t.Errorf("progressing says %q", c.Message)
		}
	}
	if got.progress.revision != "B" || got.progress.updated != 2 || !got.progress.at.Equal(t0) {
		t.Errorf("progress %+v, want the mark of revision B at t0", got.progress)
	}
	if !reflect.DeepEqual(deepCopyInput(in), before) {
		t.Error("deriveStatus modified its input")
	}
	if d := deriveStatus(statusInput{now: t0}); d.view != nil || d.instances != nil {
		t.Errorf("an app with no spec has a view: %+v", d)
	}
}

// deepCopyInput copies what deriveStatus could write through its input's
// pointers and maps.
func deepCopyInput(in statusInput) statusInput {
	in.desired = &v1alpha1.SourcedApp{App: *in.desired.App.DeepCopy(), Path: in.desired.Path, Dir: in.desired.Dir}
	in.prev = in.prev.DeepCopy()
	m := make(map[int]slot, len(in.slots))
	for k, v := range in.slots {
		m[k] = v
	}
	in.slots = m
	in.observed = slices.Clone(in.observed)
	in.pass.app = &in.desired.App
	return in
}

// TestDeriveStatus_NotScheduled: an app whose node selector does not match
// is shown with state NotScheduled and Scheduled=False, whose message
// names the selector and this node's labels; a matching app has neither.
func TestDeriveStatus_NotScheduled(t *testing.T) {
	in := statusFor(2, func(s *v1alpha1.AppSpec) { s.NodeSelector = map[string]string{"zone": "eu", "disk": "ssd"} })
	in.nodeMatches, in.pass.replicas = false, 0
	in.nodeLabels = map[string]string{"zone": "us", "role": "web"}
	s := deriveStatus(in).view.Status
	if s.State != v1alpha1.AppNotScheduled {
		t.Errorf("state %q, want NotScheduled", s.State)
	}
	var c *v1alpha1.Condition
	for i := range s.Conditions {
		if s.Conditions[i].Type == v1alpha1.ConditionScheduled {
			c = &s.Conditions[i]
		}
	}
	want := "nodeSelector {disk=ssd,zone=eu} does not match this node's labels {role=web,zone=us}: no instances run here"
	if c == nil || c.Status != v1alpha1.ConditionFalse || c.Reason != "NotScheduled" || c.Message != want {
		t.Fatalf("Scheduled condition %+v, want False/NotScheduled %q", c, want)
	}
	matching := deriveStatus(statusFor(2)).view.Status
	if matching.State != "" || slices.ContainsFunc(matching.Conditions, func(c v1alpha1.Condition) bool {
		return c.Type == v1alpha1.ConditionScheduled
	}) {
		t.Errorf("a matching app: state %q, conditions %v", matching.State, conditionSummary(matching.Conditions))
	}
}
