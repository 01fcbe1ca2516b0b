package reconciler

import (
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"proclet.dev/proclet/apis/v1alpha1"
	"proclet.dev/proclet/runtime"
)

// The dependsOn gate: a dependent waits for its dependencies, and says which.

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
