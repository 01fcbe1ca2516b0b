package main

import (
	"testing"

	"proclet.dev/proclet/apis/v1alpha1"
)

// An old instance in its init steps (phase Init:k/n) is a process still
// to go: the rollout is not done.
func TestRolloutProgress_OldInitStepsPending(t *testing.T) {
	insts := []v1alpha1.Instance{{App: "web", Revision: "old", Phase: "Init:0/1"}, {App: "web", Revision: "new", Phase: v1alpha1.PhaseRunning}}
	msg, done, err := rolloutProgress(rolloutApp(1, 1, 1, "new"), insts, "")
	if want := "Waiting for rollout to finish: 1 old replicas are pending termination..."; msg != want || done || err != nil {
		t.Fatalf("(%q, %v, %v), want %q", msg, done, err, want)
	}
}
