package reconciler

import (
	"testing"
	"testing/synctest"
	"time"

	"proclet.dev/proclet/apis/v1alpha1"
)

// rollingWeb is web with a readiness probe, maxSurge 1 / maxUnavailable 0,
// a 30 s progress deadline and a backoff capped at 4 s (so that a crash
// loop changes something every few seconds).
func rollingWeb(replicas int32, arg string) *v1alpha1.App {
	a := withReadiness(named("web", replicas, "sleep", arg))
	a.Spec.Strategy = v1alpha1.Strategy{Type: v1alpha1.RollingUpdate, RollingUpdate: &v1alpha1.RollingUpdateParams{
		MaxSurge: ptr(v1alpha1.FromInt(1)), MaxUnavailable: ptr(v1alpha1.FromInt(0))}}
	a.Spec.ProgressDeadlineSeconds = ptr(int32(30))
	a.Spec.RestartBackoff = &v1alpha1.BackoffSpec{Initial: &v1alpha1.Duration{Duration: time.Second},
		Max: &v1alpha1.Duration{Duration: 4 * time.Second}}
	return a
}

func (h *harness) progressing() v1alpha1.Condition {
	h.t.Helper()
	app, _ := h.r.App("web")
	return condition(app, v1alpha1.ConditionProgressing)
}

func TestReconciler_CrashLoopingRolloutExceedsItsProgressDeadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t)
		h.apply(rollingWeb(2, "1"))
		h.setReady("web", true)
		h.apply(rollingWeb(2, "2"))
		app, _ := h.r.App("web")
		rev := app.Status.Revision
		// The new revision crashes a second after each start, for 60 s.
		backoff := false
		for range 60 {
			time.Sleep(time.Second)
			synctest.Wait()
			for _, s := range h.rt.Instances("web") {
				if s.Running() && !s.Stopping && s.Revision == rev {
					h.rt.Exit(s.UID, 1)
				}
			}
			synctest.Wait()
			insts, _ := h.r.Instances("web")
			for _, i := range insts {
				backoff = backoff || (i.Revision == rev && i.Reason == "CrashLoopBackOff" && i.NextStartAt != nil)
			}
		}
		if !backoff {
			t.Error("the replacement waiting out its backoff beside the old instance was never listed as CrashLoopBackOff")
		}
		if c := h.progressing(); c.Status != v1alpha1.ConditionFalse || c.Reason != "ProgressDeadlineExceeded" {
			t.Fatalf("Progressing %+v after 60 s of a crash-looping rollout with a 30 s deadline", c)
		}
	})
}

func TestReconciler_CompletedRolloutDoesNotExceedTheDeadlineWhenUnready(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t)
		h.apply(rollingWeb(2, "1"))
		h.setReady("web", true)
		if c := h.progressing(); c.Reason != "NewRevisionAvailable" {
			t.Fatalf("Progressing %+v once every instance is ready", c)
		}
		h.setReady("web", false) // no rollout: the app just lost readiness
		time.Sleep(45 * time.Second)
		synctest.Wait()
		if c := h.progressing(); c.Status != v1alpha1.ConditionTrue || c.Reason != "NewRevisionAvailable" {
			t.Fatalf("Progressing %+v, want True NewRevisionAvailable (the rollout completed)", c)
		}
		app, _ := h.r.App("web")
		if c := condition(app, v1alpha1.ConditionAvailable); c.Status != v1alpha1.ConditionFalse {
			t.Fatalf("Available %+v, want False", c)
		}
	})
}

func TestReconciler_FinishedOnFailureAppIsNoRolloutInProgress(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t)
		a := named("job", 2)
		a.Spec.RestartPolicy = v1alpha1.RestartOnFailure
		h.apply(a)
		h.rt.ExitInstance("job-0", 0)
		h.rt.ExitInstance("job-1", 0)
		synctest.Wait()
		app, _ := h.r.App("job")
		if c := condition(app, v1alpha1.ConditionProgressing); c.Status != v1alpha1.ConditionTrue || c.Reason != "NewRevisionAvailable" {
			t.Fatalf("Progressing %+v for an app whose instances all completed", c)
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
