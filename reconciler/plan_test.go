package reconciler

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"proclet.dev/proclet/apis/v1alpha1"
	"proclet.dev/proclet/runtime"
)

var t0 = time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)

func ptr[T any](v T) *T { return &v }

// testApp is a defaulted-enough app for the planner.
func testApp(replicas int32, mods ...func(*v1alpha1.AppSpec)) *v1alpha1.App {
	a := &v1alpha1.App{APIVersion: v1alpha1.GroupVersion, Kind: v1alpha1.KindApp,
		Metadata: v1alpha1.ObjectMeta{Name: "web"},
		Spec: v1alpha1.AppSpec{Replicas: ptr(replicas), Command: []string{"sleep", "1000"},
			RestartPolicy: v1alpha1.RestartAlways,
			Strategy: v1alpha1.Strategy{Type: v1alpha1.RollingUpdate, RollingUpdate: &v1alpha1.RollingUpdateParams{
				MaxSurge: ptr(v1alpha1.FromString("25%")), MaxUnavailable: ptr(v1alpha1.FromString("25%"))}}}}
	for _, m := range mods {
		m(&a.Spec)
	}
	return a
}

func strategy(surge, unavail v1alpha1.IntOrString) func(*v1alpha1.AppSpec) {
	return func(s *v1alpha1.AppSpec) {
		s.Strategy = v1alpha1.Strategy{Type: v1alpha1.RollingUpdate,
			RollingUpdate: &v1alpha1.RollingUpdateParams{MaxSurge: &surge, MaxUnavailable: &unavail}}
	}
}

// run is a live process of web at ordinal o.
func run(o int, rev string, started time.Time) runtime.State {
	return runtime.State{UID: fmt.Sprintf("uid-%s-%d", rev, o), App: "web", Instance: fmt.Sprintf("web-%d", o),
		Ordinal: o, Revision: rev, PID: 100 + o, StartedAt: started,
		Probe: runtime.ProbeStatus{Started: true, Ready: true, ReadySince: started}}
}

// unready is s with a readiness probe that has not passed yet.
func unready(s runtime.State) runtime.State {
	s.Probe.Ready, s.Probe.ReadySince = false, time.Time{}
	return s
}

func stopping(s runtime.State) runtime.State { s.Stopping = true; return s }

func exited(s runtime.State, code int, reason string, at time.Time) runtime.State {
	s.Exit = &v1alpha1.ExitStatus{Code: code, Reason: reason, At: at}
	return s
}

// slotsFor are the slots of live processes as the reconciler would have them.
func slotsFor(states ...runtime.State) map[int]slot {
	m := map[int]slot{}
	for _, s := range states {
		m[s.Ordinal] = slot{UID: s.UID, Revision: s.Revision, LastStartAt: s.StartedAt}
	}
	return m
}

// summary renders the actions as "start web-0", "stop web-1@A", "release uid".
func summary(out output) []string {
	var got []string
	for _, a := range out.actions {
		switch a.kind {
		case actStart:
			got = append(got, fmt.Sprintf("start %d", a.ordinal))
		case actStop:
			got = append(got, fmt.Sprintf("stop %s", a.uid))
		case actRelease:
			got = append(got, fmt.Sprintf("release %s", a.uid))
		}
	}
	slices.Sort(got)
	return got
}

func TestPlan(t *testing.T) {
	up := t0.Add(-time.Hour)
	runPlanCases(t, []planCase{
		{
			name: "nothing happens before the first snapshot",
			in:   input{app: testApp(3), revision: "A", replicas: 3, synced: false},
			want: nil,
		},
		{
			name: "scale up from nothing starts every ordinal",
			in:   input{app: testApp(3), revision: "A", replicas: 3, synced: true},
			want: []string{"start 0", "start 1", "start 2"},
		},
		{
			name: "scale up keeps the running ordinals",
			in: input{app: testApp(5), revision: "A", replicas: 5, synced: true,
				observed: []runtime.State{run(0, "A", up), run(1, "A", up), run(2, "A", up)}},
			want: []string{"start 3", "start 4"},
		},
		{
			name: "scale down stops the highest ordinals",
			in: input{app: testApp(1), revision: "A", replicas: 1, synced: true,
				observed: []runtime.State{run(0, "A", up), run(1, "A", up), run(2, "A", up)}},
			want: []string{"stop uid-A-1", "stop uid-A-2"},
		},
		{
			name: "replicas 0 stops everything and keeps the app",
			in: input{app: testApp(0), revision: "A", replicas: 0, synced: true,
				observed: []runtime.State{run(0, "A", up)}},
			want: []string{"stop uid-A-0"},
			check: func(t *testing.T, out output) {
				if out.forget {
					t.Error("an app scaled to 0 must not be forgotten")
				}
			},
		},
		{
			name: "a stopping process is waited for, not started again",
			in: input{app: testApp(1), revision: "A", replicas: 1, synced: true,
				observed: []runtime.State{stopping(run(0, "A", up))}},
			want: nil,
		},
		{
			name: "first crash restarts at once",
			in: input{app: testApp(1), revision: "A", replicas: 1, synced: true,
				observed: []runtime.State{exited(run(0, "A", t0.Add(-time.Second)), 1, "Error", t0)},
				slots:    slotsFor(run(0, "A", t0.Add(-time.Second))), now: t0},
			want: []string{"release uid-A-0", "start 0"},
			check: func(t *testing.T, out output) {
				sl := out.slots[0]
				if sl.Restarts != 1 || sl.Failures != 1 || sl.UID != "uid-A-0" {
					t.Errorf("slot %+v, want restarts 1, failures 1, same uid", sl)
				}
			},
		},
		{
			name: "second quick crash backs off initial",
			in: input{app: testApp(1), revision: "A", replicas: 1, synced: true,
				observed: []runtime.State{exited(run(0, "A", t0.Add(-time.Second)), 1, "Error", t0)},
				slots:    map[int]slot{0: {UID: "uid-A-0", Revision: "A", Failures: 1, Restarts: 1}}, now: t0},
			want:        []string{"release uid-A-0"},
			wantRequeue: time.Second,
			check: func(t *testing.T, out output) {
				if sl := out.slots[0]; !sl.NextStartAt.Equal(t0.Add(time.Second)) || !sl.Crashed {
					t.Errorf("slot %+v, want nextStartAt t0+1s and crashed", sl)
				}
			},
		},
		{
			name: "backoff not yet expired waits",
			in: input{app: testApp(1), revision: "A", replicas: 1, synced: true, now: t0,
				slots: map[int]slot{0: {UID: "u", Revision: "A", Failures: 3, Crashed: true, NextStartAt: t0.Add(3 * time.Second)}}},
			want:        nil,
			wantRequeue: 3 * time.Second,
		},
		{
			name: "backoff expired starts and counts a restart",
			in: input{app: testApp(1), revision: "A", replicas: 1, synced: true, now: t0.Add(3 * time.Second),
				slots: map[int]slot{0: {UID: "u", Revision: "A", Failures: 3, Restarts: 2, Crashed: true, NextStartAt: t0.Add(3 * time.Second)}}},
			want: []string{"start 0"},
			check: func(t *testing.T, out output) {
				if sl := out.slots[0]; sl.Restarts != 3 || sl.UID != "u" || sl.Failures != 3 {
					t.Errorf("slot %+v, want restarts 3, same uid, failures kept", sl)
				}
			},
		},
		{
			name: "exit 0 under Always is restarted (and backed off)",
			in: input{app: testApp(1), revision: "A", replicas: 1, synced: true, now: t0,
				observed: []runtime.State{exited(run(0, "A", t0.Add(-time.Second)), 0, "Completed", t0)},
				slots:    map[int]slot{0: {UID: "uid-A-0", Revision: "A", Failures: 2}}},
			want:        []string{"release uid-A-0"},
			wantRequeue: 2 * time.Second,
		},
		{
			name: "OnFailure leaves a clean exit down",
			in: input{app: testApp(1, func(s *v1alpha1.AppSpec) { s.RestartPolicy = v1alpha1.RestartOnFailure }),
				revision: "A", replicas: 1, synced: true, now: t0,
				observed: []runtime.State{exited(run(0, "A", up), 0, "Completed", t0)},
				slots:    slotsFor(run(0, "A", up))},
			want: []string{"release uid-A-0"},
			check: func(t *testing.T, out output) {
				if !out.slots[0].Done {
					t.Error("slot not done")
				}
			},
		},
		{
			name: "OnFailure restarts a failure",
			in: input{app: testApp(1, func(s *v1alpha1.AppSpec) { s.RestartPolicy = v1alpha1.RestartOnFailure }),
				revision: "A", replicas: 1, synced: true, now: t0,
				observed: []runtime.State{exited(run(0, "A", up), 3, "Error", t0)},
				slots:    slotsFor(run(0, "A", up))},
			want: []string{"release uid-A-0", "start 0"},
		},
		{
			name: "Never leaves a failure down",
			in: input{app: testApp(1, func(s *v1alpha1.AppSpec) { s.RestartPolicy = v1alpha1.RestartNever }),
				revision: "A", replicas: 1, synced: true, now: t0,
				observed: []runtime.State{exited(run(0, "A", up), 3, "Error", t0)},
				slots:    slotsFor(run(0, "A", up))},
			want: []string{"release uid-A-0"},
		},
		{
			name: "a done slot is started again by a new revision",
			in: input{app: testApp(1, func(s *v1alpha1.AppSpec) { s.RestartPolicy = v1alpha1.RestartNever }),
				revision: "B", replicas: 1, synced: true, now: t0,
				slots: map[int]slot{0: {UID: "u", Revision: "A", Done: true}}},
			want: []string{"start 0"},
			check: func(t *testing.T, out output) {
				if sl := out.slots[0]; sl.UID != "" || sl.Revision != "B" || sl.Done {
					t.Errorf("slot %+v, want a fresh slot at B", sl)
				}
			},
		},
		{
			name: "our own stop is no crash",
			in: input{app: testApp(1), revision: "A", replicas: 1, synced: true, now: t0,
				observed: []runtime.State{exited(run(0, "A", up), 0, ReasonStopped, t0)},
				slots:    slotsFor(run(0, "A", up))},
			want: []string{"release uid-A-0", "start 0"},
			check: func(t *testing.T, out output) {
				if sl := out.slots[0]; sl.Restarts != 0 || sl.Failures != 0 {
					t.Errorf("slot %+v, want no restart and no failure counted", sl)
				}
			},
		},
		{
			name: "removal stops every instance",
			in: input{app: nil, revision: "A", synced: true,
				observed: []runtime.State{run(0, "A", up), run(1, "A", up), stopping(run(2, "A", up))}},
			want: []string{"stop uid-A-0", "stop uid-A-1"},
			check: func(t *testing.T, out output) {
				if out.forget {
					t.Error("forgot an app with live instances")
				}
			},
		},
		{
			name: "removal forgets the app when nothing is left",
			in: input{app: nil, revision: "A", synced: true,
				observed: []runtime.State{exited(run(0, "A", up), 0, ReasonStopped, t0)}},
			want: []string{"release uid-A-0"},
			check: func(t *testing.T, out output) {
				if !out.forget {
					t.Error("app not forgotten")
				}
			},
		},
		{
			name: "rolling update surge 1 unavailable 0 starts one surge instance first",
			in: input{app: testApp(3, strategy(v1alpha1.FromInt(1), v1alpha1.FromInt(0))), revision: "B", replicas: 3,
				synced: true, now: t0, observed: []runtime.State{run(0, "A", up), run(1, "A", up), run(2, "A", up)}},
			want: []string{"start 0"},
		},
		{
			name: "rolling update surge 1: a ready replacement retires its old instance",
			in: input{app: testApp(3, strategy(v1alpha1.FromInt(1), v1alpha1.FromInt(0))), revision: "B", replicas: 3,
				synced: true, now: t0, observed: []runtime.State{run(0, "A", up), run(0, "B", t0.Add(-time.Second)), run(1, "A", up), run(2, "A", up)}},
			want: []string{"stop uid-A-0"},
		},
		{
			name: "rolling update surge 1: the next surges once the retired instance is gone",
			in: input{app: testApp(3, strategy(v1alpha1.FromInt(1), v1alpha1.FromInt(0))), revision: "B", replicas: 3,
				synced: true, now: t0, observed: []runtime.State{run(0, "B", t0.Add(-time.Second)), run(1, "A", up), run(2, "A", up)}},
			want: []string{"start 1"},
		},
		{
			name: "rolling update surge 1: no surge while a retired instance is still stopping",
			in: input{app: testApp(3, strategy(v1alpha1.FromInt(1), v1alpha1.FromInt(0))), revision: "B", replicas: 3,
				synced: true, now: t0, observed: []runtime.State{stopping(run(0, "A", up)), run(0, "B", t0.Add(-time.Second)), run(1, "A", up), run(2, "A", up)}},
			want: nil,
		},
		{
			name: "rolling update surge 0 unavailable 1 stops one old instance first",
			in: input{app: testApp(3, strategy(v1alpha1.FromInt(0), v1alpha1.FromInt(1))), revision: "B", replicas: 3,
				synced: true, now: t0, observed: []runtime.State{run(0, "A", up), run(1, "A", up), run(2, "A", up)}},
			want: []string{"stop uid-A-0"},
		},
		{
			name: "rolling update surge 0: nothing more while the ordinal is stopping",
			in: input{app: testApp(3, strategy(v1alpha1.FromInt(0), v1alpha1.FromInt(1))), revision: "B", replicas: 3,
				synced: true, now: t0, observed: []runtime.State{stopping(run(0, "A", up)), run(1, "A", up), run(2, "A", up)}},
			want: nil,
		},
		{
			name: "rolling update surge 0: a stopped ordinal starts at the new revision",
			in: input{app: testApp(3, strategy(v1alpha1.FromInt(0), v1alpha1.FromInt(1))), revision: "B", replicas: 3,
				synced: true, now: t0, observed: []runtime.State{run(1, "A", up), run(2, "A", up)},
				slots: slotsFor(run(0, "A", up), run(1, "A", up), run(2, "A", up))},
			want: []string{"start 0"},
		},
		{
			name: "percentages: 25% of 4 surges 1 and may not lose any",
			in: input{app: testApp(4, strategy(v1alpha1.FromString("25%"), v1alpha1.FromString("10%"))), revision: "B", replicas: 4,
				synced: true, now: t0, observed: []runtime.State{run(0, "A", up), run(1, "A", up), run(2, "A", up), run(3, "A", up)}},
			want: []string{"start 0"},
		},
		{
			name: "percentages: 50% of 4 surges 2 and loses 2",
			in: input{app: testApp(4, strategy(v1alpha1.FromString("50%"), v1alpha1.FromString("50%"))), revision: "B", replicas: 4,
				synced: true, now: t0, observed: []runtime.State{run(0, "A", up), run(1, "A", up), run(2, "A", up), run(3, "A", up)}},
			want: []string{"start 0", "start 1", "stop uid-A-2", "stop uid-A-3"},
		},
		{
			name: "minReadySeconds: a young replacement does not retire its old instance yet",
			in: input{app: testApp(2, strategy(v1alpha1.FromInt(1), v1alpha1.FromInt(0)), func(s *v1alpha1.AppSpec) { s.MinReadySeconds = 5 }),
				revision: "B", replicas: 2, synced: true, now: t0,
				observed: []runtime.State{run(0, "A", up), run(0, "B", t0.Add(-2*time.Second)), run(1, "A", up)}},
			want:        nil,
			wantRequeue: 3 * time.Second,
		},
		{
			name: "a fixed port never surges: stop then start",
			in: input{app: testApp(1, strategy(v1alpha1.FromInt(1), v1alpha1.FromInt(0)), func(s *v1alpha1.AppSpec) {
				s.Ports = []v1alpha1.PortSpec{{Name: "http", Port: 8080}}
			}), revision: "B", replicas: 1, synced: true, now: t0, observed: []runtime.State{run(0, "A", up)}},
			want: []string{"stop uid-A-0"},
		},
		{
			name: "a new revision mid-rollout retires the unready in-flight one at once",
			in: input{app: testApp(2, strategy(v1alpha1.FromInt(1), v1alpha1.FromInt(0)), func(s *v1alpha1.AppSpec) { s.MinReadySeconds = 60 }),
				revision: "C", replicas: 2, synced: true, now: t0,
				observed: []runtime.State{run(0, "A", up), run(0, "B", t0.Add(-time.Second)), run(1, "A", up)}},
			want: []string{"stop uid-B-0"},
		},
		{
			name: "Recreate stops every old instance and starts nothing",
			in: input{app: testApp(2, func(s *v1alpha1.AppSpec) { s.Strategy = v1alpha1.Strategy{Type: v1alpha1.Recreate} }),
				revision: "B", replicas: 2, synced: true, now: t0, observed: []runtime.State{run(0, "A", up), run(1, "A", up)}},
			want: []string{"stop uid-A-0", "stop uid-A-1"},
		},
		{
			name: "Recreate waits for the last old instance before starting",
			in: input{app: testApp(2, func(s *v1alpha1.AppSpec) { s.Strategy = v1alpha1.Strategy{Type: v1alpha1.Recreate} }),
				revision: "B", replicas: 2, synced: true, now: t0, observed: []runtime.State{stopping(run(1, "A", up))}},
			want: nil,
		},
		{
			name: "Recreate starts all once the old are gone",
			in: input{app: testApp(2, func(s *v1alpha1.AppSpec) { s.Strategy = v1alpha1.Strategy{Type: v1alpha1.Recreate} }),
				revision: "B", replicas: 2, synced: true, now: t0},
			want: []string{"start 0", "start 1"},
		},
		{
			name: "a failed liveness probe stops the instance with the probe's reason",
			in: input{app: testApp(2), revision: "A", replicas: 2, synced: true, now: t0,
				observed: []runtime.State{run(0, "A", up), func() runtime.State {
					s := run(1, "A", up)
					s.Probe.Failed, s.Probe.Message = "LivenessProbeFailed", "HTTP 500"
					return s
				}()}},
			want: []string{"stop uid-A-1"},
			check: func(t *testing.T, out output) {
				for _, a := range out.actions {
					if a.kind == actStop && a.reason != "LivenessProbeFailed" {
						t.Errorf("stop reason %q", a.reason)
					}
				}
			},
		},
		{
			name: "an exit after a liveness failure is a crash: restarted through the backoff",
			in: input{app: testApp(1), revision: "A", replicas: 1, synced: true, now: t0,
				observed: []runtime.State{exited(run(0, "A", t0.Add(-time.Second)), 137, "LivenessProbeFailed", t0)},
				slots:    map[int]slot{0: {UID: "uid-A-0", Revision: "A", Failures: 1, Restarts: 1}}},
			want:        []string{"release uid-A-0"},
			wantRequeue: time.Second,
		},
		{
			name: "an unready replacement does not retire the old instance (maxUnavailable 0)",
			in: input{app: testApp(2, strategy(v1alpha1.FromInt(1), v1alpha1.FromInt(0))), revision: "B", replicas: 2,
				synced: true, now: t0, observed: []runtime.State{run(0, "A", up), unready(run(0, "B", t0.Add(-time.Minute))), run(1, "A", up)}},
			want: nil,
		},
		{
			name: "an exit seen before the first snapshot waits for it",
			in: input{app: nil, revision: "", synced: false,
				observed: []runtime.State{exited(run(0, "A", up), -1, "Unknown", t0)}},
			want: nil,
		},
		{
			name: "a held app (its file broken, its last good version unknown) keeps what runs and its exits wait",
			in: input{app: nil, revision: "A", synced: true, held: true, now: t0,
				observed: []runtime.State{run(0, "A", up), exited(run(1, "A", up), 1, "Error", t0)}},
			want: nil,
			check: func(t *testing.T, out output) {
				if out.forget || len(out.slots) != 0 {
					t.Errorf("held: forget %v slots %+v, want the app kept and no slot", out.forget, out.slots)
				}
			},
		},
		{
			name: "a slot that lost its instance claims the observed one and counts its crash",
			in: input{app: testApp(1), revision: "A", replicas: 1, synced: true, now: t0,
				observed: []runtime.State{exited(run(0, "A", t0.Add(-time.Minute)), -1, "Unknown", t0)}},
			want: []string{"release uid-A-0", "start 0"},
			check: func(t *testing.T, out output) {
				if sl := out.slots[0]; sl.UID != "uid-A-0" || sl.Restarts != 1 || sl.LastExit == nil || sl.LastExit.Reason != "Unknown" {
					t.Errorf("slot %+v, want the observed uid, one restart, lastExit Unknown", sl)
				}
			},
		},
		{
			name: "an unmet dependency starts nothing and keeps what runs",
			in: input{app: testApp(3), revision: "A", replicas: 3, synced: true, now: t0, waiting: "waiting for app \"db\"",
				observed: []runtime.State{run(0, "A", up)}},
			want: nil,
		},
	})
}

// planCase is one row of a planner table: the input, the actions wanted
// (as summary renders them), the requeue wanted, and more checks.
type planCase struct {
	name        string
	in          input
	want        []string
	wantRequeue time.Duration
	check       func(t *testing.T, out output)
}

func runPlanCases(t *testing.T, tests []planCase) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := plan(tt.in)
			if got := summary(out); strings.Join(got, ",") != strings.Join(tt.want, ",") {
				t.Errorf("actions %q, want %q", got, tt.want)
			}
			if out.requeue != tt.wantRequeue {
				t.Errorf("requeue %v, want %v", out.requeue, tt.wantRequeue)
			}
			if tt.check != nil {
				tt.check(t, out)
			}
		})
	}
}

// TestPlan_RollingUpdateNeverDropsBelowReplicas walks a whole 3-replica
// rollout with maxSurge 1 / maxUnavailable 0, applying each plan to a
// simulated host, and checks the available count after every step.
func TestPlan_RollingUpdateNeverDropsBelowReplicas(t *testing.T) {
	app := testApp(3, strategy(v1alpha1.FromInt(1), v1alpha1.FromInt(0)))
	up := t0.Add(-time.Hour)
	live := []runtime.State{run(0, "A", up), run(1, "A", up), run(2, "A", up)}
	slots := slotsFor(live...)
	now := t0
	for step := 0; step < 20; step++ {
		out := plan(input{app: app, revision: "B", replicas: 3, observed: live, slots: slots, synced: true, now: now})
		slots = out.slots
		var next []runtime.State
		for _, s := range live {
			stopped := false
			for _, a := range out.actions {
				stopped = stopped || (a.kind == actStop && a.uid == s.UID)
			}
			if !stopped {
				next = append(next, s)
			}
		}
		for _, a := range out.actions {
			if a.kind == actStart {
				next = append(next, run(a.ordinal, "B", now))
			}
		}
		live = next
		if len(live) < 3 {
			t.Fatalf("step %d: %d instances live, want >= 3", step, len(live))
		}
		if len(live) > 4 {
			t.Fatalf("step %d: %d instances live, want <= 4 (maxSurge 1)", step, len(live))
		}
		now = now.Add(time.Second)
		done := len(live) == 3
		for _, s := range live {
			done = done && s.Revision == "B"
		}
		if done {
			return
		}
	}
	t.Fatalf("rollout did not finish: %v", live)
}
