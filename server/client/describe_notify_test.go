package client

import (
	"strings"
	"testing"

	"proclet.dev/proclet/apis/v1alpha1"
)

// TestProbeSummaryNotify: describe names a notify probe's handler.
func TestProbeSummaryNotify(t *testing.T) {
	p := &v1alpha1.Probe{ProbeHandler: v1alpha1.ProbeHandler{Notify: &v1alpha1.NotifyAction{}}, PeriodSeconds: 5, FailureThreshold: 2}
	if got := ProbeSummary(p); !strings.HasPrefix(got, "notify delay=0s") || !strings.Contains(got, "period=5s #success=0 #failure=2") {
		t.Errorf("ProbeSummary = %q", got)
	}
}
