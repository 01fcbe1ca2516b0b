package runtime

import (
	"slices"
	"syscall"
	"time"

	"proclet.dev/proclet/apis/v1alpha1"
)

// StopSpecFor is how spec says to stop its instances: stopSignal,
// terminationGracePeriodSeconds and the preStop exec hook (with the apis
// defaults where spec is not defaulted), with reason recorded as the
// exit's reason.
func StopSpecFor(spec *v1alpha1.AppSpec, reason string) StopSpec {
	s := StopSpec{
		Signal: syscall.SIGTERM,
		Grace:  v1alpha1.DefaultTerminationGracePeriodSeconds * time.Second,
		Reason: reason,
	}
	if spec == nil {
		return s
	}
	if sig, err := v1alpha1.ParseSignal(spec.StopSignal); err == nil {
		s.Signal = sig
	}
	// GracePeriod saturates: a grace near int64's range of seconds (which
	// validation refuses, but a spec recorded by an older daemon may hold)
	// must not wrap to a negative grace that skips preStop and the signal.
	s.Grace = max(spec.GracePeriod(), 0)
	if l := spec.Lifecycle; l != nil && l.PreStop != nil && l.PreStop.Exec != nil {
		s.PreStop = slices.Clone(l.PreStop.Exec.Command)
	}
	return s
}
