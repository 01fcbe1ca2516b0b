package runtime

import (
	"slices"
	"syscall"
	"testing"
	"time"

	"proclet.dev/proclet/apis/v1alpha1"
)

func TestStopSpecFor(t *testing.T) {
	grace := int64(7)
	spec := &v1alpha1.AppSpec{
		StopSignal:                    "SIGINT",
		TerminationGracePeriodSeconds: &grace,
		Lifecycle:                     &v1alpha1.Lifecycle{PreStop: &v1alpha1.LifecycleHandler{Exec: &v1alpha1.ExecAction{Command: []string{"drain"}}}},
	}
	got := StopSpecFor(spec, "Removed")
	if got.Signal != syscall.SIGINT || got.Grace != 7*time.Second || !slices.Equal(got.PreStop, []string{"drain"}) || got.Reason != "Removed" {
		t.Errorf("StopSpecFor = %+v", got)
	}
	if got := StopSpecFor(&v1alpha1.AppSpec{}, "X"); got.Signal != syscall.SIGTERM || got.Grace != 30*time.Second || got.PreStop != nil {
		t.Errorf("StopSpecFor(undefaulted) = %+v, want SIGTERM, 30s, no hook", got)
	}
}
