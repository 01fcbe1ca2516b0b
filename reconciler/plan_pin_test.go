package reconciler

import (
	"slices"
	"testing"
	"time"

	"proclet.dev/proclet/apis/v1alpha1"
	"proclet.dev/proclet/runtime"
)

// The decisions of plan.go and rollout.go pinned by literal values: each
// row kills one-line mutants that the scenario tables let through (make
// mutate lists what is left).

// messages are the start actions' messages, by ordinal.
func messages(out output) map[int]string {
	m := map[int]string{}
	for _, a := range out.actions {
		if a.kind == actStart {
			m[a.ordinal] = a.message
		}
	}
	return m
}

func wantNotes(want ...note) func(t *testing.T, out output) {
	return func(t *testing.T, out output) {
		t.Helper()
		if !slices.Equal(out.notes, want) {
			t.Errorf("notes %+v, want %+v", out.notes, want)
		}
	}
}

func TestPlan_Pinned(t *testing.T) {
	up := t0.Add(-time.Hour)
	failedLiveness := func(s runtime.State) runtime.State {
		s.Probe.Failed, s.Probe.Message = runtime.ReasonLivenessProbeFailed, "liveness probe failed"
		return s
	}
	crash := func(failures int, now time.Time) input {
		s := run(0, "A", t0.Add(-time.Second))
		slots := slotsFor(s)
		sl := slots[0]
		sl.Failures = failures
		slots[0] = sl
		return input{app: testApp(1), revision: "A", replicas: 1, synced: true,
			observed: []runtime.State{exited(s, 1, "Error", t0)}, slots: slots, now: now}
	}
	runPlanCases(t, []planCase{
		{
			// The new instance is being stopped for its liveness probe:
			// it no longer serves, so the old one, the only one that
			// serves, is not stopped as "replaced" (maxUnavailable 0 at 1).
			name: "an instance stopped for a failed probe serves no more in the rollout",
			in: input{app: testApp(1), revision: "B", replicas: 1, synced: true, now: t0,
				observed: []runtime.State{run(0, "A", up), failedLiveness(run(0, "B", up))},
				slots:    slotsFor(run(0, "B", up))},
			want: []string{"stop uid-B-0"},
		},
		{
			name: "a slot is forgotten at and above replicas once no process is left there",
			in: input{app: testApp(1), revision: "A", replicas: 1, synced: true, now: t0,
				observed: []runtime.State{run(0, "A", up), stopping(run(1, "A", up))},
				slots:    slotsFor(run(0, "A", up), run(1, "A", up), run(2, "A", up))},
			want: nil,
			check: func(t *testing.T, out output) {
				if _, ok := out.slots[1]; !ok {
					t.Error("slot 1 forgotten while its process is still stopping")
				}
				if _, ok := out.slots[2]; ok {
					t.Error("slot 2 kept with no process left")
				}
			},
		},
		{
			name: "the slot at ordinal replicas is forgotten once its process is gone",
			in: input{app: testApp(1), revision: "A", replicas: 1, synced: true, now: t0,
				observed: []runtime.State{run(0, "A", up)}, slots: slotsFor(run(0, "A", up), run(1, "A", up))},
			want: nil,
			check: func(t *testing.T, out output) {
				if _, ok := out.slots[1]; ok {
					t.Error("slot 1 kept at replicas 1 with no process left")
				}
			},
		},
		{
			name: "a process of another revision is not claimed by an empty slot",
			in: input{app: testApp(1), revision: "B", replicas: 1, synced: true, now: t0, waiting: "db",
				observed: []runtime.State{run(0, "A", up)}},
			want: nil,
			check: func(t *testing.T, out output) {
				if sl := out.slots[0]; sl.UID != "" {
					t.Errorf("slot 0 = %+v, want no uid (uid-A-0 is of revision A)", sl)
				}
			},
		},
		{
			name: "a planned stop is a normal Stopped event",
			in: input{app: testApp(0), revision: "A", replicas: 0, synced: true, now: t0,
				observed: []runtime.State{exited(run(0, "A", up), 0, ReasonStopped, t0)}, slots: slotsFor(run(0, "A", up))},
			want:  []string{"release uid-A-0"},
			check: wantNotes(note{warning: false, reason: "Stopped", object: "web-0", message: "stopped (pid 100)"}),
		},
		{
			name: "a signal exit says which signal",
			in: func() input {
				s := exited(run(0, "A", up), 0, "Error", t0)
				s.Exit.Signal = "SIGSEGV"
				return input{app: testApp(0), revision: "A", replicas: 0, synced: true, now: t0,
					observed: []runtime.State{s}}
			}(),
			want:  []string{"release uid-A-0"},
			check: wantNotes(note{warning: true, reason: "Exited", object: "web-0", message: "pid 100 killed by SIGSEGV (Error)"}),
		},
		{
			name: "the crash of an older revision's instance is not the slot's",
			in: input{app: testApp(1), revision: "B", replicas: 1, synced: true, now: t0,
				observed: []runtime.State{exited(run(0, "A", up), 1, "Error", t0), run(0, "B", up)},
				slots:    slotsFor(run(0, "B", up))},
			want: []string{"release uid-A-0"},
			check: func(t *testing.T, out output) {
				if sl := out.slots[0]; sl.LastExit != nil || sl.Failures != 0 || sl.Crashed {
					t.Errorf("slot 0 = %+v, want no exit, no failure", sl)
				}
			},
		},
		{
			name: "a first crash restarts at once, with no BackOff event, and the slot forgets the crash",
			in:   crash(0, t0),
			want: []string{"release uid-A-0", "start 0"},
			check: func(t *testing.T, out output) {
				wantNotes(note{warning: true, reason: "Exited", object: "web-0", message: "pid 100 exited with code 1 (Error)"})(t, out)
				if sl := out.slots[0]; sl.Crashed || sl.Done || !sl.NextStartAt.IsZero() || sl.Restarts != 1 {
					t.Errorf("slot 0 after the restart = %+v, want not crashed, not done, no next start, 1 restart", sl)
				}
			},
		},
		{
			name:        "a second crash waits 1s, and says so",
			in:          crash(1, t0),
			want:        []string{"release uid-A-0"},
			wantRequeue: time.Second,
			check: wantNotes(note{warning: true, reason: "Exited", object: "web-0", message: "pid 100 exited with code 1 (Error)"},
				note{warning: true, reason: "BackOff", object: "web-0", message: "back-off 1s restarting failed instance"}),
		},
		{
			name:        "a backoff 1 ns from its end is still a BackOff",
			in:          crash(1, t0.Add(time.Second-1)),
			want:        []string{"release uid-A-0"},
			wantRequeue: 1,
			check: wantNotes(note{warning: true, reason: "Exited", object: "web-0", message: "pid 100 exited with code 1 (Error)"},
				note{warning: true, reason: "BackOff", object: "web-0", message: "back-off 0s restarting failed instance"}),
		},
	})
}

func TestPlan_RequeueAt(t *testing.T) {
	var out output
	out.requeueAt(t0, t0)
	if out.requeue != time.Millisecond {
		t.Errorf("requeue at now: %v, want 1ms (0 would mean never)", out.requeue)
	}
	out = output{}
	out.requeueAt(t0, t0.Add(-time.Hour))
	if out.requeue != time.Millisecond {
		t.Errorf("requeue in the past: %v, want 1ms", out.requeue)
	}
	out = output{}
	out.requeueAt(t0, t0.Add(1))
	if out.requeue != 1 {
		t.Errorf("requeue in 1ns: %v, want 1ns", out.requeue)
	}
	out = output{}
	for _, d := range []time.Duration{5 * time.Second, 2 * time.Second, 3 * time.Second} {
		out.requeueAt(t0, t0.Add(d))
	}
	if out.requeue != 2*time.Second {
		t.Errorf("requeues at 5s, 2s, 3s: %v, want the earliest, 2s", out.requeue)
	}
}

func TestRollout_Pinned(t *testing.T) {
	up := t0.Add(-time.Hour)
	recreate := func(s *v1alpha1.AppSpec) {
		// A rollingUpdate left in a Recreate spec: its maxSurge is not used.
		s.Strategy = v1alpha1.Strategy{Type: v1alpha1.Recreate, RollingUpdate: &v1alpha1.RollingUpdateParams{
			MaxSurge: ptr(v1alpha1.FromInt(1)), MaxUnavailable: ptr(v1alpha1.FromInt(0))}}
	}
	runPlanCases(t, []planCase{
		{
			// The case: 25 % of 2 rounds up to a surge of 1 (and
			// maxUnavailable down to 0), so the rollout surges first.
			name: "the default 25%/25% at 2 replicas surges",
			in: input{app: testApp(2), revision: "B", replicas: 2, synced: true, now: t0,
				observed: []runtime.State{run(0, "A", up), run(1, "A", up)}},
			want: []string{"start 0"},
		},
		{
			name: "the default 25%/25% at 3 replicas surges",
			in: input{app: testApp(3), revision: "B", replicas: 3, synced: true, now: t0,
				observed: []runtime.State{run(0, "A", up), run(1, "A", up), run(2, "A", up)}},
			want: []string{"start 0"},
		},
		{
			name: "Recreate never surges, whatever rollingUpdate says",
			in: input{app: testApp(1, recreate), revision: "A", replicas: 1, synced: true, now: t0,
				observed: []runtime.State{stopping(run(1, "A", up))}},
			want: nil,
		},
		{
			name: "an old instance that does not serve is stopped, with no surge beside it",
			in: input{app: testApp(1), revision: "B", replicas: 1, synced: true, now: t0,
				observed: []runtime.State{unready(run(0, "A", up))}},
			want: []string{"stop uid-A-0"},
		},
	})
}

func TestRollout_BoundsArePinned(t *testing.T) {
	is := v1alpha1.FromString
	cases := []struct {
		name          string
		mod           func(*v1alpha1.AppSpec)
		replicas      int
		surge, unavil int
	}{
		{"no rollingUpdate", func(s *v1alpha1.AppSpec) { s.Strategy.RollingUpdate = nil }, 4, 0, 1},
		{"25%/25% of 2", nil, 2, 1, 0},
		{"25%/25% of 3", nil, 3, 1, 0},
		{"25%/25% of 4", nil, 4, 1, 1},
		{"25%/25% of 5", nil, 5, 2, 1},
		{"maxUnavailable unset is 1", func(s *v1alpha1.AppSpec) {
			s.Strategy.RollingUpdate = &v1alpha1.RollingUpdateParams{MaxSurge: ptr(v1alpha1.FromInt(1))}
		}, 4, 1, 1},
		{"0/0 moves one at a time", strategy(v1alpha1.FromInt(0), v1alpha1.FromInt(0)), 3, 0, 1},
		{"50%/0", strategy(is("50%"), v1alpha1.FromInt(0)), 3, 2, 0},
		{"a fixed port never surges", func(s *v1alpha1.AppSpec) {
			s.Ports = []v1alpha1.PortSpec{{Name: "http", Port: 8080}}
		}, 4, 0, 1},
		{"a port from a range may surge", func(s *v1alpha1.AppSpec) {
			s.Ports = []v1alpha1.PortSpec{{Name: "http", Range: "9000-9100"}}
		}, 4, 1, 1},
	}
	for _, c := range cases {
		var mods []func(*v1alpha1.AppSpec)
		if c.mod != nil {
			mods = append(mods, c.mod)
		}
		a := testApp(int32(c.replicas), mods...)
		if s, u := rollingBounds(&a.Spec, c.replicas); s != c.surge || u != c.unavil {
			t.Errorf("%s: surge %d, unavailable %d; want %d, %d", c.name, s, u, c.surge, c.unavil)
		}
	}
}

func TestRollout_StartMessagesArePinned(t *testing.T) {
	cases := []struct {
		name string
		rev  string
		slot slot
		want string
	}{
		{"a new ordinal", "A", slot{}, "scaled up"},
		{"a start that failed, again", "A", slot{Revision: "A", StartError: "exec: not found"}, "retrying start"},
		{"after a crash", "A", slot{Revision: "A", UID: "u", Crashed: true}, "restarting after exit"},
		{"an ordinal down at an older revision", "B", slot{Revision: "A", UID: "u"}, "rolling update to revision B"},
		{"a failed start of an older revision", "B", slot{Revision: "A", StartError: "exec: not found"}, "rolling update to revision B"},
	}
	for _, c := range cases {
		out := plan(input{app: testApp(1), revision: c.rev, replicas: 1, synced: true, now: t0,
			slots: map[int]slot{0: c.slot}})
		if got := messages(out); got[0] != c.want {
			t.Errorf("%s: start messages %v, want %q for web-0", c.name, got, c.want)
		}
	}
}
