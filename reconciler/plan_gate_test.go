package reconciler

import (
	"testing"
	"time"

	"proclet.dev/proclet/apis/v1alpha1"
	"proclet.dev/proclet/runtime"
)

// TestPlan_StartGate: every start, whichever path decides it (a missing
// ordinal, a surge replacement), goes through one gate (dependencies, the
// restart policy, the backoff, the replicas+maxSurge count), and a kill
// by the supervisor is a failure for the restart policy.
func TestPlan_StartGate(t *testing.T) {
	up := t0.Add(-time.Hour)
	runPlanCases(t, []planCase{
		{
			// The surge of web-0 waits: the two instances being stopped
			// count against replicas+maxSurge (2) until they are gone.
			name: "scale down during a rollout stops the highest ordinals whatever their revision",
			in: input{app: testApp(1, strategy(v1alpha1.FromInt(1), v1alpha1.FromInt(0))), revision: "B", replicas: 1,
				synced: true, now: t0, observed: []runtime.State{run(0, "A", up), run(1, "B", up), run(2, "A", up)}},
			want: []string{"stop uid-A-2", "stop uid-B-1"},
		},
		{
			name: "scale down during a rollout: the surge follows once the stopped instances are gone",
			in: input{app: testApp(1, strategy(v1alpha1.FromInt(1), v1alpha1.FromInt(0))), revision: "B", replicas: 1,
				synced: true, now: t0, observed: []runtime.State{run(0, "A", up)}},
			want: []string{"start 0"},
		},
		{
			name: "scale down and a new revision in one edit: no surge while the removed instance is stopping",
			in: input{app: testApp(2, strategy(v1alpha1.FromInt(1), v1alpha1.FromInt(0))), revision: "B", replicas: 2,
				synced: true, now: t0, observed: []runtime.State{run(0, "A", up), run(1, "A", up), stopping(run(2, "A", up))}},
			want: nil,
		},
		{
			name: "a scale-down still stopping does not keep a crashed instance down",
			in: input{app: testApp(2, strategy(v1alpha1.FromInt(0), v1alpha1.FromInt(1))), revision: "A", replicas: 2,
				synced: true, now: t0, observed: []runtime.State{run(1, "A", up), stopping(run(2, "A", up)), stopping(run(3, "A", up))},
				slots: map[int]slot{0: {UID: "uid-A-0", Revision: "A", Crashed: true, Failures: 1}, 1: {UID: "uid-A-1", Revision: "A"}}},
			want: []string{"start 0"},
		},
		{
			name: "a surge replacement in backoff is not started before nextStartAt",
			in: input{app: testApp(2, strategy(v1alpha1.FromInt(1), v1alpha1.FromInt(0)), func(s *v1alpha1.AppSpec) { s.MinReadySeconds = 5 }),
				revision: "B", replicas: 2, synced: true, now: t0,
				observed: []runtime.State{run(0, "A", up), run(1, "A", up)},
				slots:    map[int]slot{0: {UID: "uid-B-0", Revision: "B", Failures: 5, Restarts: 4, Crashed: true, NextStartAt: t0.Add(8 * time.Second)}}},
			want:        nil,
			wantRequeue: 8 * time.Second,
		},
		{
			name: "a surge replacement in backoff is started once it expires, as a restart",
			in: input{app: testApp(2, strategy(v1alpha1.FromInt(1), v1alpha1.FromInt(0))),
				revision: "B", replicas: 2, synced: true, now: t0,
				observed: []runtime.State{run(0, "A", up), run(1, "A", up)},
				slots:    map[int]slot{0: {UID: "uid-B-0", Revision: "B", Failures: 5, Restarts: 4, Crashed: true, NextStartAt: t0}}},
			want: []string{"start 0"},
			check: func(t *testing.T, out output) {
				if sl := out.slots[0]; sl.Restarts != 5 || sl.UID != "uid-B-0" {
					t.Errorf("slot %+v, want restart 5 of uid-B-0", sl)
				}
				if m := out.actions[0].message; m != "restarting after exit" {
					t.Errorf("start message %q, want the restart's", m)
				}
			},
		},
		{
			// web-0's old instance keeps serving; the rollout goes on with
			// web-1 (the done ordinal has no process, so it does not count).
			name: "a surge replacement the restart policy keeps down is not started again",
			in: input{app: testApp(2, strategy(v1alpha1.FromInt(1), v1alpha1.FromInt(0)), func(s *v1alpha1.AppSpec) { s.RestartPolicy = v1alpha1.RestartNever }),
				revision: "B", replicas: 2, synced: true, now: t0,
				observed: []runtime.State{run(0, "A", up), run(1, "A", up)},
				slots: map[int]slot{0: {UID: "uid-B-0", Revision: "B", Done: true,
					LastExit: &v1alpha1.ExitStatus{Code: 0, Reason: "Completed", At: t0}}}},
			want: []string{"start 1"},
		},
		{
			name: "a surge replacement exiting under Never is not started again in the same pass",
			in: input{app: testApp(2, strategy(v1alpha1.FromInt(1), v1alpha1.FromInt(0)), func(s *v1alpha1.AppSpec) { s.RestartPolicy = v1alpha1.RestartNever }),
				revision: "B", replicas: 2, synced: true, now: t0,
				observed: []runtime.State{run(0, "A", up), run(1, "A", up), exited(run(0, "B", t0.Add(-time.Second)), 0, "Completed", t0)},
				slots:    slotsFor(run(0, "B", t0.Add(-time.Second)))},
			want: []string{"release uid-B-0", "start 1"},
		},
		{
			name: "maxSurge 0: an ordinal waiting out its backoff keeps its place, no other ordinal surges",
			in: input{app: testApp(2, strategy(v1alpha1.FromInt(0), v1alpha1.FromInt(1))), revision: "B", replicas: 2,
				synced: true, now: t0, observed: []runtime.State{run(1, "A", up)},
				slots: map[int]slot{0: {UID: "uid-B-0", Revision: "B", Failures: 2, Crashed: true, NextStartAt: t0.Add(time.Second)},
					1: {UID: "uid-A-1", Revision: "A"}}},
			want:        nil,
			wantRequeue: time.Second,
		},
		{
			name: "OnFailure restarts an instance killed by its liveness probe, whatever its exit code",
			in: input{app: testApp(1, func(s *v1alpha1.AppSpec) { s.RestartPolicy = v1alpha1.RestartOnFailure }),
				revision: "A", replicas: 1, synced: true, now: t0,
				observed: []runtime.State{exited(run(0, "A", up), 0, runtime.ReasonLivenessProbeFailed, t0)},
				slots:    slotsFor(run(0, "A", up))},
			want: []string{"release uid-A-0", "start 0"},
			check: func(t *testing.T, out output) {
				if sl := out.slots[0]; sl.Done || sl.Restarts != 1 {
					t.Errorf("slot %+v, want restarted (not done), restarts 1", sl)
				}
				if len(out.notes) == 0 || !out.notes[0].warning {
					t.Errorf("notes %+v, want a warning for the kill", out.notes)
				}
			},
		},
		{
			name: "OnFailure restarts an instance killed for its memory that exited 0",
			in: input{app: testApp(1, func(s *v1alpha1.AppSpec) { s.RestartPolicy = v1alpha1.RestartOnFailure }),
				revision: "A", replicas: 1, synced: true, now: t0,
				observed: []runtime.State{exited(run(0, "A", up), 0, ReasonMemoryLimitExceeded, t0)},
				slots:    slotsFor(run(0, "A", up))},
			want: []string{"release uid-A-0", "start 0"},
		},
		{
			name: "Never leaves an instance killed by its startup probe down",
			in: input{app: testApp(1, func(s *v1alpha1.AppSpec) { s.RestartPolicy = v1alpha1.RestartNever }),
				revision: "A", replicas: 1, synced: true, now: t0,
				observed: []runtime.State{exited(run(0, "A", up), 0, runtime.ReasonStartupProbeFailed, t0)},
				slots:    slotsFor(run(0, "A", up))},
			want: []string{"release uid-A-0"},
			check: func(t *testing.T, out output) {
				if !out.slots[0].Done {
					t.Error("slot not done")
				}
			},
		},
	})
}
