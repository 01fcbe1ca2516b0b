package reconciler

import (
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"proclet.dev/proclet/apis/v1alpha1"
	"proclet.dev/proclet/runtime"
)

// withInit is app with two init steps.
func withInit(a *v1alpha1.App) *v1alpha1.App {
	a.Spec.InitCommands = []v1alpha1.InitCommand{
		{Name: "migrate", Command: []string{"/bin/true"}},
		{Name: "seed", Command: []string{"/bin/true"}},
	}
	return a
}

// runningUID is the uid of app's running instance.
func (h *harness) runningUID(app string) string {
	h.t.Helper()
	for _, s := range h.rt.Instances(app) {
		if s.Running() {
			return s.UID
		}
	}
	h.t.Fatalf("no running instance of %s", app)
	return ""
}

// While its steps run an instance is Init:<completed>/<total>, not
// ready; then Running and ready.
func TestInit_PhaseCountsCompletedSteps(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t)
		h.apply(withInit(named("web", 1)))
		uid := h.runningUID("web")
		for i, want := range []string{"Init:0/2", "Init:1/2"} {
			inst := h.instance("web", "web-0")
			if string(inst.Phase) != want || inst.Reason != ReasonInitializing || inst.Ready {
				t.Fatalf("step %d: %s/%s ready=%v, want %s/Initializing, not ready", i, inst.Phase, inst.Reason, inst.Ready, want)
			}
			h.rt.StepDone(uid)
			synctest.Wait()
		}
		inst := h.instance("web", "web-0")
		if inst.Phase != v1alpha1.PhaseRunning || !inst.Ready || inst.UID != uid {
			t.Fatalf("after the steps: %+v, want Running and ready", inst)
		}
	})
}

// A failed step restarts the instance through its backoff, which reads
// InitCrashLoopBackOff, and the exit's event names the step.
func TestInit_FailedStepBacksOff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t)
		h.apply(withInit(named("web", 1)))
		h.rt.FailStep(h.runningUID("web"), 3)
		synctest.Wait()
		uid := h.runningUID("web") // the first failure restarts at once
		h.rt.StepDone(uid)
		synctest.Wait()
		h.rt.FailStep(uid, 3)
		synctest.Wait()
		inst := h.instance("web", "web-0")
		if inst.Phase != v1alpha1.PhasePending || inst.Reason != ReasonInitCrashLoopBackOff || inst.NextStartAt == nil ||
			!strings.Contains(inst.Message, "failed init step") {
			t.Fatalf("after the second failure: %+v, want Pending/InitCrashLoopBackOff", inst)
		}
		if got := time.Until(*inst.NextStartAt); got != time.Second {
			t.Fatalf("next start in %v, want 1s (the app's backoff)", got)
		}
		if inst.LastExit == nil || inst.LastExit.Reason != runtime.ExitReasonInitFailed || inst.Restarts != 1 {
			t.Fatalf("lastExit %+v restarts %d", inst.LastExit, inst.Restarts)
		}
		found := false
		for _, e := range h.r.Events("web", 0) {
			found = found || e.Reason == "Exited" && e.Type == "Warning" && strings.Contains(e.Message, "init step seed exited with code 3")
		}
		if !found {
			t.Errorf("no Exited warning naming the step: %+v", h.r.Events("web", 0))
		}
		time.Sleep(time.Second)
		synctest.Wait()
		if inst := h.instance("web", "web-0"); string(inst.Phase) != "Init:0/2" {
			t.Fatalf("after the backoff: %+v, want the steps again", inst)
		}
	})
}

// Under restartPolicy Never a failed step leaves the instance Failed,
// InitFailed.
func TestInit_NeverLeavesAFailedStepDown(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t)
		a := withInit(named("web", 1))
		a.Spec.RestartPolicy = v1alpha1.RestartNever
		h.apply(a)
		h.rt.FailStep(h.runningUID("web"), 1)
		synctest.Wait()
		if got := h.rt.Running("web"); len(got) != 0 {
			t.Fatalf("running %v, want nothing under Never", got)
		}
		if inst := h.instance("web", "web-0"); inst.Phase != v1alpha1.PhaseFailed || inst.Reason != runtime.ExitReasonInitFailed {
			t.Fatalf("web-0 %s/%s, want Failed/InitFailed", inst.Phase, inst.Reason)
		}
	})
}
