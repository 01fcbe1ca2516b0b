package reconciler

import (
	"testing"
	"testing/synctest"

	"proclet.dev/proclet/apis/v1alpha1"
	"proclet.dev/proclet/runtime"
)

// killByLiveness fails the liveness probe of app's only instance, lets the
// reconciler stop it (the fake holds the stop), and makes it exit 0, as a
// program that handles SIGTERM does. It returns the killed instance.
func (h *harness) killByLiveness(app string) runtime.State {
	h.t.Helper()
	var victim runtime.State
	for _, s := range h.rt.Instances(app) {
		if s.Running() {
			victim = s
		}
	}
	h.rt.SetProbe(victim.UID, runtime.ProbeStatus{Started: true, Failed: runtime.ReasonLivenessProbeFailed, Message: "HTTP 500"})
	synctest.Wait()
	if s := h.rt.Instances(app); len(s) != 1 || !s[0].Stopping {
		h.t.Fatalf("after the liveness failure: %+v, want the instance stopping", s)
	}
	h.rt.Exit(victim.UID, 0)
	synctest.Wait()
	return victim
}

func TestReconciler_OnFailureRestartsAnInstanceKilledByItsLivenessProbe(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t)
		h.rt.HoldStops = true
		a := named("web", 1)
		a.Spec.RestartPolicy = v1alpha1.RestartOnFailure
		h.apply(a)
		victim := h.killByLiveness("web")
		var now []runtime.State
		for _, s := range h.rt.Instances("web") {
			if s.Running() {
				now = append(now, s)
			}
		}
		if len(now) != 1 || now[0].PID == victim.PID {
			t.Fatalf("running %+v, want web-0 restarted after its liveness kill", now)
		}
		inst := h.instance("web", "web-0")
		if inst.Restarts != 1 || inst.LastExit == nil || inst.LastExit.Reason != runtime.ReasonLivenessProbeFailed {
			t.Fatalf("web-0 %+v, want 1 restart, lastExit LivenessProbeFailed", inst)
		}
		for _, e := range h.r.Events("web", 0) {
			if e.Reason == "Exited" && e.Type != "Warning" {
				t.Errorf("the kill's exit event is %s, want Warning: %+v", e.Type, e)
			}
		}
	})
}

func TestReconciler_NeverReportsALivenessKillAsFailed(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t)
		h.rt.HoldStops = true
		a := named("web", 1)
		a.Spec.RestartPolicy = v1alpha1.RestartNever
		h.apply(a)
		h.killByLiveness("web")
		if got := h.rt.Running("web"); len(got) != 0 {
			t.Fatalf("running %v, want nothing under Never", got)
		}
		inst := h.instance("web", "web-0")
		if inst.Phase != v1alpha1.PhaseFailed || inst.Reason != runtime.ReasonLivenessProbeFailed {
			t.Fatalf("web-0 phase %s reason %s, want Failed LivenessProbeFailed (a kill is no success)", inst.Phase, inst.Reason)
		}
	})
}
