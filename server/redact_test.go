package server

import (
	"testing"

	"proclet.dev/proclet/apis/v1alpha1"
)

// redact works on a shallow copy whose probes and slices may be the
// reconciler's: it must replace them, never write through.
func TestRedact_ProbeHeadersOfASharedSpec(t *testing.T) {
	probe := func(v string) *v1alpha1.Probe {
		return &v1alpha1.Probe{ProbeHandler: v1alpha1.ProbeHandler{HTTPGet: &v1alpha1.HTTPGetAction{
			Port: v1alpha1.FromInt(80), HTTPHeaders: []v1alpha1.HTTPHeader{{Name: "X-Token", Value: v}}}}}
	}
	shared := v1alpha1.App{Spec: v1alpha1.AppSpec{Env: []v1alpha1.EnvVar{{Name: "K", Value: "env-secret"}},
		StartupProbe: probe("startup-secret"), ReadinessProbe: probe("ready-secret"), LivenessProbe: probe("live-secret"),
	}}
	shown := shared // shallow, as a SharedReader's answer would be
	redact(&shown)
	for name, p := range map[string]*v1alpha1.Probe{"startup": shown.Spec.StartupProbe,
		"readiness": shown.Spec.ReadinessProbe, "liveness": shown.Spec.LivenessProbe} {
		if h := p.HTTPGet.HTTPHeaders[0]; h.Name != "X-Token" || h.Value != Redacted {
			t.Errorf("%s probe header shown as %+v", name, h)
		}
	}
	if shown.Spec.Env[0].Value != Redacted {
		t.Errorf("env shown as %+v", shown.Spec.Env[0])
	}
	if shared.Spec.ReadinessProbe.HTTPGet.HTTPHeaders[0].Value != "ready-secret" || shared.Spec.Env[0].Value != "env-secret" {
		t.Errorf("redact wrote through to the shared spec: %+v", shared.Spec)
	}
}
