package reconciler

import (
	"context"
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
// the running instances are adopted, not started again (TRAPS 27).
func TestReconciler_ARestartedDaemonKeepsBackoffAndCounts(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		stateFile := filepath.Join(t.TempDir(), "reconciler.json")
		rt := runtimetest.New()
		run := func() (*Reconciler, context.CancelFunc, chan struct{}) {
			r := New(Options{Runtime: rt, StateFile: stateFile})
			ctx, cancel := context.WithCancel(t.Context())
			done := make(chan struct{})
			go func() { _ = r.Run(ctx); close(done) }()
			return r, cancel, done
		}
		snap := func() v1alpha1.Snapshot {
			a, b := named("web", 1), named("loop", 1)
			v1alpha1.Default(a)
			v1alpha1.Default(b)
			return v1alpha1.Snapshot{Apps: []v1alpha1.SourcedApp{{App: *b, Path: "loop.yaml"}, {App: *a, Path: "web.yaml"}}}
		}
		r, cancel, done := run()
		r.Replace(snap())
		synctest.Wait()
		rt.ExitInstance("loop-0", 1) // restarted at once
		synctest.Wait()
		rt.ExitInstance("loop-0", 1) // backoff 1s
		synctest.Wait()
		rt.Calls()
		web := rt.Instances("web")[0]
		cancel()
		<-done
		if _, err := os.Stat(stateFile); err != nil {
			t.Fatalf("no state file after Run: %v", err)
		}

		r, cancel, done = run()
		defer func() { cancel(); <-done }()
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
