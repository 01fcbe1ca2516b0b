package reconciler

import "proclet.dev/proclet/apis/v1alpha1"

// One pass plans and derives by the kind of its object: an App through
// the rollout planner and deriveStatus, a Job through planJob and
// deriveJob, a CronJob through planCronJob and deriveCronJob.

// planPass is the plan of one pass of in. A Job's or CronJob's runs left
// after its removal (in.job) are planned by planJob, which stops them.
func planPass(in input) output {
	switch {
	case in.app != nil && in.app.Job != nil:
		return planJob(in)
	case in.app != nil && in.app.CronJob != nil:
		return planCronJob(in)
	case in.app == nil && in.job != nil:
		return planJob(in)
	}
	return plan(in)
}

// jobPass reports whether a pass of in is a Job's or a CronJob's.
func jobPass(in input) bool {
	if in.app != nil {
		return !in.app.IsApp()
	}
	return in.job != nil
}

// kindOf is the kind of what si derives the status of: its desired
// object's, else the one last applied.
func kindOf(si statusInput) string {
	app := si.applied
	if si.desired != nil {
		app = &si.desired.App
	}
	switch {
	case app == nil:
		return v1alpha1.KindApp
	case app.Job != nil:
		return v1alpha1.KindJob
	case app.CronJob != nil:
		return v1alpha1.KindCronJob
	}
	return v1alpha1.KindApp
}

// deriveFor derives the status of app from si, with the views its last
// pass derived (conditions keep their lastTransitionTime).
func (s *statusStore) deriveFor(app string, si statusInput) derivedStatus {
	var prevJob *v1alpha1.Job
	var prevCron *v1alpha1.CronJob
	s.mu.RLock()
	if sh := s.apps[app]; sh != nil {
		prevJob, prevCron = sh.job, sh.cron
	}
	s.mu.RUnlock()
	switch kindOf(si) {
	case v1alpha1.KindJob:
		return deriveJob(si, prevJob)
	case v1alpha1.KindCronJob:
		return deriveCronJob(si, prevCron)
	}
	return deriveStatus(si)
}

// heldObject is what a held object (desiredApp.held) named name is shown
// as: an App, or a Job or CronJob (kind, saved) with an empty spec.
func heldObject(name, kind string) *v1alpha1.App {
	app := &v1alpha1.App{APIVersion: v1alpha1.GroupVersion, Kind: v1alpha1.KindApp, Metadata: v1alpha1.ObjectMeta{Name: name}}
	switch kind {
	case v1alpha1.KindJob:
		app.Kind, app.Job = kind, &v1alpha1.JobSpec{}
	case v1alpha1.KindCronJob:
		app.Kind, app.CronJob = kind, &v1alpha1.CronJobSpec{}
	}
	return app
}
