package runtime

import (
	"math"
	"math/rand/v2"
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

// TestStopSpecForGraceNeverWraps: any grace a spec can hold, including
// ones near int64's range of seconds (validation refuses them now, but a
// state file from an older daemon can hold one), gives a grace that is
// not negative and grows with the seconds: a wrapped grace skipped preStop
// and SIGTERM for an immediate SIGKILL.
func TestStopSpecForGraceNeverWraps(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	seconds := []int64{0, 1, 30, v1alpha1.MaxDurationSeconds, math.MaxInt64 / int64(time.Second),
		math.MaxInt64/int64(time.Second) + 1, math.MaxInt64 - 1, math.MaxInt64}
	for range 1000 {
		seconds = append(seconds, r.Int64N(math.MaxInt64))
	}
	slices.Sort(seconds)
	prev := time.Duration(0)
	for _, sec := range seconds {
		g := StopSpecFor(&v1alpha1.AppSpec{TerminationGracePeriodSeconds: &sec}, "X").Grace
		if g < prev || (sec > 0 && g < time.Second) {
			t.Fatalf("grace of %d s = %v (the one before: %v)", sec, g, prev)
		}
		prev = g
	}
}

// A nil spec (an adopted instance whose spec was not recorded) stops with
// the defaults, and a grace of 0 s stays 0: kill at once.
func TestStopSpecFor_NilSpecAndZeroGrace(t *testing.T) {
	want := StopSpec{Signal: syscall.SIGTERM, Grace: 30 * time.Second, Reason: "Removed"}
	if got := StopSpecFor(nil, "Removed"); got.Signal != want.Signal || got.Grace != want.Grace || got.Reason != want.Reason || got.PreStop != nil {
		t.Errorf("StopSpecFor(nil) = %+v, want %+v", got, want)
	}
	zero := int64(0)
	if got := StopSpecFor(&v1alpha1.AppSpec{TerminationGracePeriodSeconds: &zero}, "X"); got.Grace != 0 {
		t.Errorf("grace of 0 s = %v, want 0 (SIGKILL at once)", got.Grace)
	}
}
