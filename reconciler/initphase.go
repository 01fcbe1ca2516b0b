package reconciler

import (
	"fmt"

	"proclet.dev/proclet/apis/v1alpha1"
	"proclet.dev/proclet/runtime"
)

// Init steps (spec.initCommands) as the instances show them, Kubernetes'
// way: while a step runs the phase is Init:<completed>/<total> (the
// kubectl STATUS of a pod in its init containers); an instance waiting
// out its backoff after a failed step is InitCrashLoopBackOff; one that
// its restart policy keeps down after a failed step is Failed, InitFailed.
const (
	// ReasonInitializing is the reason of an instance running its init
	// steps.
	ReasonInitializing = "Initializing"
	// ReasonInitCrashLoopBackOff is CrashLoopBackOff's twin for an
	// instance whose last attempt ended in a failed init step.
	ReasonInitCrashLoopBackOff = "InitCrashLoopBackOff"
)

// initPhase is the phase of an instance whose init steps run:
// Init:<completed>/<total>.
func initPhase(p runtime.InitProgress) v1alpha1.InstancePhase {
	return v1alpha1.InstancePhase(fmt.Sprintf("Init:%d/%d", p.Done, p.Total))
}

// setInitPhase shows the running instance inst of o as in its init
// steps, when it is (and not stopping); it reports whether it did.
func setInitPhase(inst *v1alpha1.Instance, o runtime.State) bool {
	if o.Stopping || !o.Init.Running() {
		return false
	}
	inst.Phase, inst.Reason = initPhase(o.Init), ReasonInitializing
	inst.Message = fmt.Sprintf("init step %s (%d of %d) running", o.Init.Name, o.Init.Done+1, o.Init.Total)
	return true
}

// initFailed reports whether exit ended an attempt in an init step.
func initFailed(exit *v1alpha1.ExitStatus) bool {
	return exit != nil && exit.Reason == runtime.ExitReasonInitFailed
}

// backOffReason is the reason of an instance waiting out its backoff
// after exit, and its message.
func backOffReason(exit *v1alpha1.ExitStatus, next string) (string, string) {
	if initFailed(exit) {
		return ReasonInitCrashLoopBackOff, "back-off restarting after a failed init step, next start at " + next
	}
	return "CrashLoopBackOff", "back-off restarting failed instance, next start at " + next
}

// doneFailedReason is the reason of an instance its restart policy keeps
// down after the failed exit.
func doneFailedReason(exit *v1alpha1.ExitStatus) string {
	if initFailed(exit) {
		return runtime.ExitReasonInitFailed
	}
	return "Error"
}

// initExitMessage is the event message of an exit in a failed init step,
// which names the step; "" for any other exit.
func initExitMessage(s runtime.State) string {
	if !initFailed(s.Exit) || s.Init.Message == "" {
		return ""
	}
	return fmt.Sprintf("pid %d: %s", s.PID, s.Init.Message)
}
