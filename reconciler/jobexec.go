package reconciler

import (
	"slices"
	"strconv"

	"proclet.dev/proclet/apis/v1alpha1"
	"proclet.dev/proclet/runtime"
)

// The executor's part of a Job's pass: an action of a run (action.run)
// keeps its slot in the run's index, not in the app's ordinals.

// completionIndexEnv is the variable an Indexed Job's process finds its
// index in.
const completionIndexEnv = "PROCLET_COMPLETION_INDEX"

// slotOf is the slot of a's instance: its run's index, or its ordinal.
func (out *output) slotOf(a action) slot {
	if a.run != 0 {
		if run := out.job.find(a.run); run != nil {
			return run.Slots[a.ordinal]
		}
	}
	return out.slots[a.ordinal]
}

// setSlot records sl as the slot of a's instance.
func (out *output) setSlot(a action, sl slot) {
	if a.run != 0 {
		if run := out.job.find(a.run); run != nil {
			run.Slots[a.ordinal] = sl
		}
		return
	}
	out.slots[a.ordinal] = sl
}

// jobStartFailed counts a start of a run's process that failed as one of
// the run's failures (a missing program fails the run at backoffLimit).
func (out *output) jobStartFailed(a action) {
	if a.run == 0 {
		return
	}
	if run := out.job.find(a.run); run != nil {
		run.Failed++
	}
}

// jobStartSpec makes spec the start of index a.ordinal of run a.run of
// app (a Job carrier): named NAME-RUN-INDEX at the run's revision, its
// exit recorded (the waiting shim), and for an Indexed job its index in
// PROCLET_COMPLETION_INDEX, on a copy of the spec's env (the shared spec
// is never modified).
func (out *output) jobStartSpec(spec *runtime.StartSpec, app *v1alpha1.App, a action) {
	spec.Instance, spec.RecordExit = a.instance, true
	if run := out.job.find(a.run); run != nil {
		spec.Revision = run.Revision
	}
	js := app.Job
	if app.CronJob != nil {
		js = &app.CronJob.JobTemplate.Spec
	}
	if js == nil || js.CompletionMode != v1alpha1.Indexed {
		return
	}
	ps := app.Spec // a copy; Env is replaced, not appended to in place
	ps.Env = append(slices.Clone(ps.Env), v1alpha1.EnvVar{Name: completionIndexEnv, Value: strconv.Itoa(a.ordinal)})
	spec.Spec = &ps
}
