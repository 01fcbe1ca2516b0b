package reconciler

import (
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"proclet.dev/proclet/apis/v1alpha1"
	"proclet.dev/proclet/runtime"
)

func withReadiness(a *v1alpha1.App) *v1alpha1.App {
	a.Spec.ReadinessProbe = &v1alpha1.Probe{ProbeHandler: v1alpha1.ProbeHandler{
		Exec: &v1alpha1.ExecAction{Command: []string{"true"}}}}
	return a
}

// setReady marks every running instance of app ready (or not) in the fake.
func (h *harness) setReady(app string, ready bool) {
	h.t.Helper()
	for _, s := range h.rt.Instances(app) {
		if s.Running() {
			p := runtime.ProbeStatus{Started: true, Ready: ready}
			if ready {
				p.ReadySince = time.Now()
			}
			h.rt.SetProbe(s.UID, p)
		}
	}
	synctest.Wait()
}

func condition(app v1alpha1.App, typ string) v1alpha1.Condition {
	for _, c := range app.Status.Conditions {
		if c.Type == typ {
			return c
		}
	}
	return v1alpha1.Condition{}
}

func TestReconciler_DependsOnWaitsForAReadyDependency(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t)
		web := named("web", 2)
		web.Spec.DependsOn = []v1alpha1.Dependency{{App: "db", Condition: v1alpha1.DependencyReady}}
		h.apply(withReadiness(named("db", 1)), web)
		if got := h.rt.Running("web"); len(got) != 0 {
			t.Fatalf("web started before db was ready: %v", got)
		}
		inst := h.instance("web", "web-0")
		if inst.Phase != v1alpha1.PhasePending || inst.Reason != "WaitingForDependency" || !strings.Contains(inst.Message, `"db"`) {
			t.Fatalf("web-0 %+v", inst)
		}
		h.setReady("db", true)
		if got := h.rt.Running("web"); len(got) != 2 {
			t.Fatalf("web not started once db was ready: %v", got)
		}
	})
}

func TestReconciler_UndefinedDependencyIsNamed(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t)
		web := named("web", 1)
		web.Spec.DependsOn = []v1alpha1.Dependency{{App: "cache"}}
		h.apply(web)
		if inst := h.instance("web", "web-0"); inst.Reason != "WaitingForDependency" || !strings.Contains(inst.Message, `"cache", which is not defined`) {
			t.Fatalf("web-0 %+v", inst)
		}
		h.apply(web, named("cache", 1))
		if got := h.rt.Running("web"); len(got) != 1 {
			t.Fatalf("web not started once cache ran: %v", got)
		}
	})
}

func TestReconciler_StalledRolloutKeepsTheOldServing(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t)
		mk := func(cmd string) *v1alpha1.App {
			a := withReadiness(named("web", 2, "sleep", cmd))
			a.Spec.Strategy = v1alpha1.Strategy{Type: v1alpha1.RollingUpdate, RollingUpdate: &v1alpha1.RollingUpdateParams{
				MaxSurge: ptr(v1alpha1.FromInt(1)), MaxUnavailable: ptr(v1alpha1.FromInt(0))}}
			a.Spec.ProgressDeadlineSeconds = ptr(int32(30))
			return a
		}
		h.apply(mk("1"))
		h.setReady("web", true)
		old := h.rt.Instances("web")
		h.apply(mk("2")) // the new revision never becomes ready
		time.Sleep(31 * time.Second)
		synctest.Wait()
		app, _ := h.r.App("web")
		if c := condition(app, v1alpha1.ConditionProgressing); c.Status != v1alpha1.ConditionFalse || c.Reason != "ProgressDeadlineExceeded" {
			t.Fatalf("Progressing %+v", c)
		}
		if c := condition(app, v1alpha1.ConditionAvailable); c.Status != v1alpha1.ConditionTrue {
			t.Fatalf("Available %+v", c)
		}
		for _, s := range old {
			found := false
			for _, n := range h.rt.Instances("web") {
				found = found || (n.UID == s.UID && n.Running() && !n.Stopping)
			}
			if !found {
				t.Errorf("old instance %s stopped by a stalled rollout", s.Instance)
			}
		}
		if app.Status.AvailableReplicas != 2 || app.Status.UpdatedReplicas != 1 {
			t.Fatalf("status %+v", app.Status)
		}
		// The new revision becomes ready after all: the rollout resumes.
		h.setReady("web", true)
		h.setReady("web", true)
		app, _ = h.r.App("web")
		if app.Status.UpdatedReplicas != 2 || condition(app, v1alpha1.ConditionProgressing).Status != v1alpha1.ConditionTrue {
			t.Fatalf("after readiness: %+v", app.Status)
		}
	})
}

func TestReconciler_PortInUseKeepsTheInstancePending(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t)
		var taken atomic.Bool
		taken.Store(true)
		h.rt.StartErr = func(s runtime.StartSpec) error {
			if !taken.Load() {
				return nil
			}
			return &runtime.PortInUseError{Port: 8080, Name: "http", Message: "port 8080 (http) is in use by another process"}
		}
		a := named("web", 1)
		a.Spec.Ports = []v1alpha1.PortSpec{{Name: "http", Port: 8080}}
		h.apply(a)
		inst := h.instance("web", "web-0")
		if inst.Phase != v1alpha1.PhasePending || inst.Reason != "PortInUse" || !strings.Contains(inst.Message, "8080") {
			t.Fatalf("web-0 %+v", inst)
		}
		taken.Store(false) // the foreign process goes away
		time.Sleep(5 * time.Second)
		synctest.Wait()
		if got := h.rt.Running("web"); len(got) != 1 {
			t.Fatalf("not started once the port was free: %v", got)
		}
	})
}

func TestReconciler_PortConflictRefusesTheNewcomer(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t)
		a := named("api", 1)
		a.Spec.Ports = []v1alpha1.PortSpec{{Name: "http", Port: 8080}}
		h.apply(a)
		b := named("admin", 1)
		b.Spec.Ports = []v1alpha1.PortSpec{{Name: "http", Port: 8080}}
		h.apply(a, b)
		if _, ok := h.r.App("admin"); ok {
			t.Fatal("the newcomer was admitted")
		}
		if got := h.rt.Running("api"); len(got) != 1 {
			t.Fatalf("api disturbed: %v", got)
		}
		var fe *v1alpha1.FileError
		for _, f := range h.r.Manifests() {
			if f.Path == "admin.yaml" {
				fe = f.Error
			}
		}
		if fe == nil || fe.Reason != v1alpha1.ReasonPortConflict || !strings.Contains(fe.Message, `"api"`) {
			t.Fatalf("admin.yaml error %+v", fe)
		}
		var reasons []string
		for _, e := range h.r.Events("", 0) {
			reasons = append(reasons, e.Reason)
		}
		if !slices.Contains(reasons, v1alpha1.ReasonPortConflict) {
			t.Fatalf("no PortConflict event in %v", reasons)
		}
	})
}

func TestReconciler_AvailableAfterMinReadySecondsWithoutAnEvent(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t)
		a := named("web", 2)
		a.Spec.MinReadySeconds = 3
		h.apply(a)
		if app, _ := h.r.App("web"); app.Status.ReadyReplicas != 2 || app.Status.AvailableReplicas != 0 {
			t.Fatalf("at once: %+v", app.Status)
		}
		time.Sleep(3 * time.Second)
		synctest.Wait()
		if app, _ := h.r.App("web"); app.Status.AvailableReplicas != 2 {
			t.Fatalf("after minReadySeconds: %+v", app.Status)
		}
	})
}
