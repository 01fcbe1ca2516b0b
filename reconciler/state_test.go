package reconciler

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"testing/synctest"
	"time"

	"proclet.dev/proclet/apis/v1alpha1"
	"proclet.dev/proclet/runtime/runtimetest"
)

// TestReconciler_ARestartedDaemonKeepsBackoffAndCounts: a crash-looping
// instance's nextStartAt and restart count survive the reconciler, and
// the running instances are adopted, not started again.
// runDaemon runs a Reconciler on rt and stateFile, as one daemon's life;
// stop ends it (Run returns) and a later runDaemon is the next daemon.
func runDaemon(t *testing.T, rt *runtimetest.Fake, stateFile string) (r *Reconciler, stop func()) {
	r = New(Options{Runtime: rt, StateFile: stateFile})
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() { _ = r.Run(ctx); close(done) }()
	return r, func() { cancel(); <-done }
}

func TestReconciler_ARestartedDaemonKeepsBackoffAndCounts(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		stateFile := filepath.Join(t.TempDir(), "reconciler.json")
		rt := runtimetest.New()
		snap := func() v1alpha1.Snapshot {
			a, b := named("web", 1), named("loop", 1)
			v1alpha1.Default(a)
			v1alpha1.Default(b)
			return v1alpha1.Snapshot{Apps: []v1alpha1.SourcedApp{{App: *b, Path: "loop.yaml"}, {App: *a, Path: "web.yaml"}}}
		}
		r, stop := runDaemon(t, rt, stateFile)
		r.Replace(snap())
		synctest.Wait()
		rt.ExitInstance("loop-0", 1) // restarted at once
		synctest.Wait()
		rt.ExitInstance("loop-0", 1) // backoff 1s
		synctest.Wait()
		rt.Calls()
		web := rt.Instances("web")[0]
		stop()
		if _, err := os.Stat(stateFile); err != nil {
			t.Fatalf("no state file after Run: %v", err)
		}

		r, stop = runDaemon(t, rt, stateFile)
		defer stop()
		r.Replace(snap())
		synctest.Wait()
		if c := rt.Calls(); len(c) != 0 {
			t.Fatalf("a restarted reconciler made calls at once: %+v", c)
		}
		if got := rt.Instances("web"); len(got) != 1 || got[0].UID != web.UID {
			t.Fatalf("web not kept: %+v", got)
		}
		inst, _ := r.Instances("loop")
		if len(inst) != 1 || inst[0].Reason != "CrashLoopBackOff" || inst[0].Restarts != 1 {
			t.Fatalf("loop after restart: %+v", inst)
		}
		time.Sleep(time.Second)
		synctest.Wait()
		if got := rt.Running("loop"); len(got) != 1 {
			t.Fatalf("loop not started when its backoff expired: %v", got)
		}
		app, _ := r.App("web")
		if app.Metadata.Generation != 1 {
			t.Fatalf("generation %d after a restart, want 1", app.Metadata.Generation)
		}
	})
}

func TestReconciler_CorruptStateIsReportedAndIgnored(t *testing.T) {
	stateFile := filepath.Join(t.TempDir(), "reconciler.json")
	if err := os.WriteFile(stateFile, []byte("{not json"), 0o644); err != nil {
		t.Fatal(err)
	}
	r := New(Options{Runtime: runtimetest.New(), StateFile: stateFile})
	if ev := r.Events("", 0); len(ev) != 1 || ev[0].Reason != "StateCorrupt" {
		t.Fatalf("events %+v", ev)
	}
}

// The state file is what json.Marshal of a savedState gives, and follows
// every change of an app although it reuses the encoding of the others.
func TestReconciler_StateEncodingFollowsChanges(t *testing.T) {
	t0 := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	r := New(Options{Runtime: runtimetest.New(), Now: func() time.Time { return t0 }})
	for i, name := range []string{"web", "db", "a-10", "a-2"} {
		r.apps[name] = &appState{desiredApp: desiredApp{generation: int64(i + 1), revision: "r" + name}, slots: map[int]slot{
			0: {UID: name + "-u0", Revision: "r" + name}, 10: {UID: name + "-u10"}, 2: {Restarts: 1},
		}}
	}
	r.apps["empty"] = &appState{desiredApp: desiredApp{generation: 1}}
	check := func(step string) {
		t.Helper()
		got, err := r.enc.encode(r.apps, t0)
		if err != nil {
			t.Fatal(err)
		}
		s := savedState{Version: stateVersion, SavedAt: t0, Apps: map[string]savedApp{}}
		for name, st := range r.apps {
			s.Apps[name] = savedApp{Generation: st.generation, Revision: st.revision, Slots: st.slots}
		}
		want, _ := json.Marshal(s)
		if string(got) != string(want) {
			t.Fatalf("%s: encoded\n%s\nwant\n%s", step, got, want)
		}
	}
	check("first")
	check("unchanged")
	web := r.apps["web"]
	changes := []struct {
		name   string
		change func()
	}{
		{"a restart", func() { sl := web.slots[0]; sl.Restarts++; sl.LastStartAt = t0; web.slots[0] = sl }},
		{"an exit", func() {
			sl := web.slots[0]
			sl.LastExit = &v1alpha1.ExitStatus{Code: 1, Reason: "Error", At: t0}
			web.slots[0] = sl
		}},
		{"the exit's value", func() { sl := web.slots[0]; x := *sl.LastExit; x.Code = 3; sl.LastExit = &x; web.slots[0] = sl }},
		{"a new slot", func() { web.slots[11] = slot{UID: "web-u11"} }},
		{"a slot gone", func() { delete(web.slots, 10) }},
		{"the generation", func() { web.generation++; web.revision = "r2" }},
		{"an app gone", func() { delete(r.apps, "db") }},
		{"an app added", func() { r.apps["new"] = &appState{desiredApp: desiredApp{generation: 1}, slots: map[int]slot{0: {}}} }},
	}
	for _, c := range changes {
		c.change()
		check(c.name)
	}
}

// A change reaches the state file within saveEvery, while the daemon runs
// (a daemon killed -9 then still knows its restart counts).
func TestReconciler_StateSavedWithinSaveEvery(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		stateFile := filepath.Join(t.TempDir(), "reconciler.json")
		rt := runtimetest.New()
		r, stop := runDaemon(t, rt, stateFile)
		defer stop()
		a := named("web", 1)
		v1alpha1.Default(a)
		r.Replace(v1alpha1.Snapshot{Apps: []v1alpha1.SourcedApp{{App: *a, Path: "web.yaml"}}})
		synctest.Wait()
		time.Sleep(saveEvery)
		synctest.Wait()
		apps, err := loadState(stateFile)
		if err != nil || len(apps["web"].Slots) != 1 {
			t.Fatalf("state file saveEvery after the start: %+v, %v; want web's slot", apps, err)
		}
	})
}

// A daemon that stopped every instance at its shutdown hands no restart
// counts on: the next one starts them afresh from zero. (One that left
// them running hands them on: TestReconciler_ARestartedDaemonKeepsBackoffAndCounts.)
func TestReconciler_RestartCountsStartFromZeroAfterACleanStop(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		stateFile := filepath.Join(t.TempDir(), "reconciler.json")
		rt := runtimetest.New()
		snap := func() v1alpha1.Snapshot {
			a := named("web", 1)
			v1alpha1.Default(a)
			return v1alpha1.Snapshot{Apps: []v1alpha1.SourcedApp{{App: *a, Path: "web.yaml"}}}
		}
		r, stop := runDaemon(t, rt, stateFile)
		r.Replace(snap())
		synctest.Wait()
		rt.ExitInstance("web-0", 1)
		synctest.Wait()
		if inst, _ := r.Instances("web"); len(inst) != 1 || inst[0].Restarts != 1 {
			t.Fatalf("before the stop: %+v, want one restart", inst)
		}
		stop()
		if err := r.Shutdown(t.Context()); err != nil {
			t.Fatal(err)
		}

		r, stop = runDaemon(t, rt, stateFile)
		defer stop()
		r.Replace(snap())
		synctest.Wait()
		inst, _ := r.Instances("web")
		if len(inst) != 1 || inst[0].Restarts != 0 {
			t.Fatalf("after a clean stop: %+v, want a fresh instance with no restart", inst)
		}
		if app, _ := r.App("web"); app.Metadata.Generation != 1 {
			t.Fatalf("generation %d after a clean stop, want 1 (kept)", app.Metadata.Generation)
		}
	})
}

// An app's creationTimestamp is when it was first applied: a spec change
// keeps it, and so does a daemon restart (the state file).
func TestReconciler_CreationTimestampIsTheFirstApply(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		stateFile := filepath.Join(t.TempDir(), "reconciler.json")
		rt := runtimetest.New()
		snap := func(command ...string) v1alpha1.Snapshot {
			a := named("web", 1, command...)
			v1alpha1.Default(a)
			return v1alpha1.Snapshot{Apps: []v1alpha1.SourcedApp{{App: *a, Path: "web.yaml"}}}
		}
		created := func(r *Reconciler) time.Time {
			t.Helper()
			app, ok := r.App("web")
			if !ok {
				t.Fatal("no app web")
			}
			return app.Metadata.CreationTimestamp
		}
		first := time.Now().UTC().Truncate(time.Second)
		r, stop := runDaemon(t, rt, stateFile)
		r.Replace(snap())
		synctest.Wait()
		if got := created(r); !got.Equal(first) {
			t.Fatalf("creationTimestamp %v, want the first apply %v", got, first)
		}
		time.Sleep(time.Hour)
		r.Replace(snap("/bin/other"))
		synctest.Wait()
		if got := created(r); !got.Equal(first) {
			t.Fatalf("after a spec change creationTimestamp %v, want %v", got, first)
		}
		stop()

		time.Sleep(time.Hour)
		r, stop = runDaemon(t, rt, stateFile)
		defer stop()
		r.Replace(snap("/bin/other"))
		synctest.Wait()
		if got := created(r); !got.Equal(first) {
			t.Fatalf("after a daemon restart creationTimestamp %v, want %v", got, first)
		}
	})
}
