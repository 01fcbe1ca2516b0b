package client

import (
	"testing"

	"proclet.dev/proclet/apis/v1alpha1"
)

func TestFilesSummary(t *testing.T) {
	s := v1alpha1.AppSpec{
		EnvFrom:         []v1alpha1.EnvFromSource{{File: "app.env"}, {File: "local.env", Optional: true}},
		RolloutOnChange: &v1alpha1.RolloutOnChange{Executable: true, Paths: []string{"config/"}},
	}
	want := "envFrom app.env, local.env (optional); rollout on change of the executable, config/"
	if got := filesSummary(&s); got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	if got := filesSummary(&v1alpha1.AppSpec{}); got != "" {
		t.Errorf("no files: %q", got)
	}
	env := []v1alpha1.EnvVar{{Name: "A", Value: "<redacted>"}, {Name: "T", ValueFrom: &v1alpha1.EnvVarSource{File: "secrets/t"}}}
	if got := envSummary(env); got != "A, T (from secrets/t) (values not shown)" {
		t.Errorf("env: %q", got)
	}
}
