package runtime

import (
	"time"

	"proclet.dev/proclet/apis/v1alpha1"
)

// The values of ProbeStatus.Failed.
const (
	// ReasonStartupProbeFailed: the startup probe reached its failure
	// threshold.
	ReasonStartupProbeFailed = "StartupProbeFailed"
	// ReasonLivenessProbeFailed: the liveness probe reached its failure
	// threshold.
	ReasonLivenessProbeFailed = "LivenessProbeFailed"
)

// InitialProbeStatus is the ProbeStatus of an instance of spec that has just
// started at started: Started without a startup probe, and Ready (since
// started) without a startup or a readiness probe.
func InitialProbeStatus(spec *v1alpha1.AppSpec, started time.Time) ProbeStatus {
	var p ProbeStatus
	if spec == nil || spec.StartupProbe == nil {
		p.Started = true
	}
	if p.Started && (spec == nil || spec.ReadinessProbe == nil) {
		p.Ready, p.ReadySince = true, started
	}
	return p
}
