package reconciler

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"proclet.dev/proclet/apis/v1alpha1"
	"proclet.dev/proclet/runtime"
	"proclet.dev/proclet/runtime/runtimetest"
)

// harness runs a Reconciler on a fake runtime inside a synctest bubble.
type harness struct {
	t    *testing.T
	rt   *runtimetest.Fake
	r    *Reconciler
	stop context.CancelFunc
	done chan struct{}
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	rt := runtimetest.New()
	r := New(Options{Runtime: rt, Workers: 2})
	ctx, cancel := context.WithCancel(t.Context())
	h := &harness{t: t, rt: rt, r: r, stop: cancel, done: make(chan struct{})}
	go func() { _ = r.Run(ctx); close(h.done) }()
	t.Cleanup(func() { cancel(); <-h.done })
	return h
}

// apply hands the reconciler a snapshot of apps and lets it settle.
func (h *harness) apply(apps ...*v1alpha1.App) {
	h.t.Helper()
	snap := v1alpha1.Snapshot{}
	for _, a := range apps {
		v1alpha1.Default(a)
		snap.Apps = append(snap.Apps, v1alpha1.SourcedApp{App: *a, Path: a.Metadata.Name + ".yaml", Dir: "/srv"})
		snap.Files = append(snap.Files, v1alpha1.FileStatus{Path: a.Metadata.Name + ".yaml", Objects: []string{a.Metadata.Name}})
	}
	h.r.Replace(snap)
	synctest.Wait()
}

func (h *harness) instance(app, name string) v1alpha1.Instance {
	h.t.Helper()
	insts, _ := h.r.Instances(app)
	for _, i := range insts {
		if i.Name == name {
			return i
		}
	}
	h.t.Fatalf("no instance %s in %+v", name, insts)
	return v1alpha1.Instance{}
}

func named(name string, replicas int32, command ...string) *v1alpha1.App {
	a := testApp(replicas)
	a.Metadata.Name = name
	if len(command) > 0 {
		a.Spec.Command = command
	}
	return a
}

func TestReconciler_NothingStartsBeforeTheFirstSnapshot(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t)
		h.r.q.Add("web")
		synctest.Wait()
		if c := h.rt.Calls(); len(c) != 0 {
			t.Fatalf("calls before the first snapshot: %+v", c)
		}
		if h.r.Ready() {
			t.Fatal("ready before the first snapshot")
		}
		h.apply(named("web", 2))
		if got := h.rt.Running("web"); !slices.Equal(got, []string{"web-0", "web-1"}) {
			t.Fatalf("running %v", got)
		}
		if !h.r.Ready() {
			t.Fatal("not ready after the first snapshot was reconciled")
		}
	})
}

func TestReconciler_ScaleKeepsSurvivors(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t)
		h.apply(named("web", 3))
		first := map[string]int{}
		for _, s := range h.rt.Instances("web") {
			first[s.Instance] = s.PID
		}
		h.apply(named("web", 5))
		h.apply(named("web", 2))
		if got := h.rt.Running("web"); !slices.Equal(got, []string{"web-0", "web-1"}) {
			t.Fatalf("running %v, want web-0 web-1", got)
		}
		for _, s := range h.rt.Instances("web") {
			if s.Running() && first[s.Instance] != s.PID {
				t.Errorf("%s restarted: pid %d, was %d", s.Instance, s.PID, first[s.Instance])
			}
		}
	})
}

func TestReconciler_CrashLoopBacksOff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t)
		h.apply(named("web", 1))
		h.rt.Calls()
		h.rt.ExitInstance("web-0", 1)
		synctest.Wait()
		if got := h.rt.Running("web"); len(got) != 1 {
			t.Fatalf("first crash not restarted at once: %v", got)
		}
		h.rt.ExitInstance("web-0", 1)
		synctest.Wait()
		inst := h.instance("web", "web-0")
		if inst.Phase != v1alpha1.PhasePending || inst.Reason != "CrashLoopBackOff" || inst.NextStartAt == nil {
			t.Fatalf("after the second crash: %+v, want Pending/CrashLoopBackOff with nextStartAt", inst)
		}
		if got, want := time.Until(*inst.NextStartAt), time.Second; got != want {
			t.Fatalf("next start in %v, want %v", got, want)
		}
		if inst.Restarts != 1 || inst.LastExit == nil || inst.LastExit.Code != 1 {
			t.Fatalf("restarts %d lastExit %+v", inst.Restarts, inst.LastExit)
		}
		time.Sleep(999 * time.Millisecond)
		synctest.Wait()
		if got := h.rt.Running("web"); len(got) != 0 {
			t.Fatalf("restarted before the backoff expired: %v", got)
		}
		time.Sleep(time.Millisecond)
		synctest.Wait()
		if got := h.rt.Running("web"); len(got) != 1 {
			t.Fatalf("not restarted when the backoff expired: %v", got)
		}
		if inst := h.instance("web", "web-0"); inst.Phase != v1alpha1.PhaseRunning || inst.Restarts != 2 {
			t.Fatalf("after restart: %+v", inst)
		}
		var reasons []string
		for _, e := range h.r.Events("web", 0) {
			reasons = append(reasons, e.Reason)
		}
		if !slices.Contains(reasons, "BackOff") || !slices.Contains(reasons, "Exited") {
			t.Errorf("events %v lack BackOff/Exited", reasons)
		}
	})
}

func TestReconciler_StartFailureIsRetriedWithBackoff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t)
		var broken atomic.Bool
		broken.Store(true)
		h.rt.StartErr = func(s runtime.StartSpec) error {
			if broken.Load() {
				return errors.New("exec ./bin/web: no such file or directory")
			}
			return nil
		}
		h.apply(named("web", 1))
		// The first failure retries at once, the second waits 1s.
		inst := h.instance("web", "web-0")
		if inst.Phase != v1alpha1.PhaseFailed || !strings.Contains(inst.Message, "no such file") {
			t.Fatalf("instance %+v, want Failed with the OS error", inst)
		}
		broken.Store(false) // the binary is deployed
		time.Sleep(time.Second)
		synctest.Wait()
		if got := h.rt.Running("web"); len(got) != 1 {
			t.Fatalf("not started after the fix: %v", got)
		}
		if inst := h.instance("web", "web-0"); inst.Phase != v1alpha1.PhaseRunning || inst.Message != "" {
			t.Fatalf("instance %+v", inst)
		}
	})
}

func TestReconciler_LabelEditRestartsNothing(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t)
		h.apply(named("web", 2))
		h.rt.Calls()
		a := named("web", 2)
		a.Metadata.Labels = map[string]string{"team": "x"}
		h.apply(a)
		if c := h.rt.Calls(); len(c) != 0 {
			t.Fatalf("a label edit made calls: %+v", c)
		}
		app, _ := h.r.App("web")
		if app.Metadata.Labels["team"] != "x" || app.Metadata.Generation != 1 {
			t.Fatalf("app %+v", app.Metadata)
		}
	})
}

func TestReconciler_CommandChangeRollsAndBumpsGeneration(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t)
		h.apply(named("web", 3))
		h.apply(named("web", 3, "sleep", "2000"))
		app, _ := h.r.App("web")
		rev := app.Status.Revision
		if app.Metadata.Generation != 2 || app.Status.ObservedGeneration != 2 {
			t.Fatalf("generation %d observed %d", app.Metadata.Generation, app.Status.ObservedGeneration)
		}
		for _, s := range h.rt.Instances("web") {
			if s.Running() && s.Revision != rev {
				t.Errorf("%s still at %s, want %s", s.Instance, s.Revision, rev)
			}
		}
		if got := h.rt.Running("web"); len(got) != 3 {
			t.Fatalf("running %v", got)
		}
		if app.Status.UpdatedReplicas != 3 || app.Status.AvailableReplicas != 3 {
			t.Fatalf("status %+v", app.Status)
		}
	})
}

func TestReconciler_RemovalStopsGracefullyAndForgets(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t)
		h.apply(named("web", 2), named("db", 1))
		h.rt.Calls()
		h.apply(named("db", 1))
		calls := h.rt.Calls()
		if len(calls) != 2 || calls[0].Op != "Stop" || calls[0].Reason != ReasonStopped {
			t.Fatalf("calls %+v, want two graceful stops", calls)
		}
		if _, ok := h.r.App("web"); ok {
			t.Fatal("removed app still listed")
		}
		if got := h.rt.Running("db"); len(got) != 1 {
			t.Fatalf("db touched: %v", got)
		}
	})
}

func TestReconciler_UnavailableSourceKeepsEverything(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t)
		h.apply(named("web", 2))
		h.rt.Calls()
		h.r.Unavailable(errors.New("open manifests: no such file or directory"))
		synctest.Wait()
		if c := h.rt.Calls(); len(c) != 0 {
			t.Fatalf("calls: %+v", c)
		}
		if ev := h.r.Events("", 1); len(ev) != 1 || ev[0].Reason != "SourceUnavailable" {
			t.Fatalf("events %+v", ev)
		}
	})
}

func TestReconciler_BrokenFileKeepsLastGoodAndSaysSo(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t)
		h.apply(named("web", 1))
		h.rt.Calls()
		a := named("web", 1)
		v1alpha1.Default(a)
		fe := &v1alpha1.FileError{File: "web.yaml", Line: 3, Field: "spec.replicas", Reason: v1alpha1.ReasonInvalid, Message: "bad"}
		h.r.Replace(v1alpha1.Snapshot{Apps: []v1alpha1.SourcedApp{{App: *a, Path: "web.yaml"}},
			Files: []v1alpha1.FileStatus{{Path: "web.yaml", Objects: []string{"web"}, Error: fe}}})
		synctest.Wait()
		if c := h.rt.Calls(); len(c) != 0 {
			t.Fatalf("calls: %+v", c)
		}
		app, _ := h.r.App("web")
		var mv *v1alpha1.Condition
		for i, c := range app.Status.Conditions {
			if c.Type == v1alpha1.ConditionManifestValid {
				mv = &app.Status.Conditions[i]
			}
		}
		if mv == nil || mv.Status != v1alpha1.ConditionFalse || !strings.Contains(mv.Message, "web.yaml:3") {
			t.Fatalf("ManifestValid %+v", mv)
		}
		if ev := h.r.Events("", 0); len(ev) == 0 || ev[0].Reason != v1alpha1.ReasonInvalid {
			t.Fatalf("events %+v", ev)
		}
	})
}

func TestReconciler_ShutdownStopsEveryInstance(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t)
		h.apply(named("web", 3), named("db", 1))
		h.stop()
		<-h.done
		if err := h.r.Shutdown(t.Context()); err != nil {
			t.Fatal(err)
		}
		if got := append(h.rt.Running("web"), h.rt.Running("db")...); len(got) != 0 {
			t.Fatalf("still running: %v", got)
		}
	})
}

func TestReconciler_WatchSeesAScaleUpAndDropsSlowClients(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t)
		h.apply(named("web", 1))
		events, cancel := h.r.Watch(64)
		defer cancel()
		var initial []string
		for range 2 { // the app and web-0
			e := <-events
			initial = append(initial, e.Type+" "+e.Kind)
		}
		if !slices.Equal(initial, []string{"ADDED App", "ADDED Instance"}) {
			t.Fatalf("initial events %v", initial)
		}
		h.apply(named("web", 2))
		var added []string
		for len(events) > 0 {
			e := <-events
			if inst, ok := e.Object.(v1alpha1.Instance); ok && e.Type == WatchAdded {
				added = append(added, inst.Name)
			}
		}
		if !slices.Contains(added, "web-1") {
			t.Fatalf("no ADDED web-1 after a scale-up; added %v", added)
		}

		slow, cancelSlow := h.r.Watch(1)
		defer cancelSlow()
		h.apply(named("web", 5))
		n := 0
		for range slow {
			n++
		}
		if n > 1+4 {
			t.Fatalf("slow client got %d events; want it dropped", n)
		}
	})
}
