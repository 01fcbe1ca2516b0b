package server

import (
	"testing"

	"proclet.dev/proclet/apis/v1alpha1"
)

// An env entry read from a file shows its file's path, never a value.
func TestRedactKeepsValueFromPaths(t *testing.T) {
	app := v1alpha1.App{Spec: v1alpha1.AppSpec{Env: []v1alpha1.EnvVar{
		{Name: "A", Value: "secret"},
		{Name: "B", ValueFrom: &v1alpha1.EnvVarSource{File: "secrets/b"}},
	}}}
	redact(&app)
	if e := app.Spec.Env[0]; e.Value != Redacted || e.ValueFrom != nil {
		t.Errorf("value entry: %+v", e)
	}
	if e := app.Spec.Env[1]; e.Value != "" || e.ValueFrom == nil || e.ValueFrom.File != "secrets/b" {
		t.Errorf("valueFrom entry: %+v", e)
	}
}
