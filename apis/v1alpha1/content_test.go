package v1alpha1

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"
)

func TestDecodeContentFields(t *testing.T) {
	src := `apiVersion: proclet.dev/v1alpha1
kind: App
metadata:
  name: api
spec:
  command: ["./bin/api"]
  envFrom:
    - file: .env
    - file: extra.env
      optional: true
  env:
    - name: DB_PASSWORD
      valueFrom:
        file: secrets/db
  rolloutOnChange:
    executable: true
    paths: [config/, static/index.html]
`
	apps, err := DecodeFile("api.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	s := apps[0].Spec
	if len(s.EnvFrom) != 2 || s.EnvFrom[0].File != ".env" || s.EnvFrom[0].Optional || !s.EnvFrom[1].Optional {
		t.Errorf("envFrom = %+v", s.EnvFrom)
	}
	if s.Env[0].ValueFrom == nil || s.Env[0].ValueFrom.File != "secrets/db" {
		t.Errorf("env[0] = %+v", s.Env[0])
	}
	if ro := s.RolloutOnChange; ro == nil || !ro.Executable || len(ro.Paths) != 2 {
		t.Errorf("rolloutOnChange = %+v", ro)
	}
	if !s.ReadsFiles() {
		t.Error("ReadsFiles = false")
	}
}

func TestValidateContentFields(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(s *AppSpec)
		field  string
		msg    string
	}{
		{"value and valueFrom", func(s *AppSpec) {
			s.Env[0].ValueFrom = &EnvVarSource{File: "x"}
		}, "spec.env[0].valueFrom", "value and valueFrom are mutually exclusive"},
		{"valueFrom without file", func(s *AppSpec) {
			s.Env[1].ValueFrom = &EnvVarSource{}
		}, "spec.env[1].valueFrom.file", "required"},
		{"envFrom without file", func(s *AppSpec) {
			s.EnvFrom = []EnvFromSource{{File: ".env"}, {Optional: true}}
		}, "spec.envFrom[1].file", "required"},
		{"too many envFrom", func(s *AppSpec) {
			s.EnvFrom = make([]EnvFromSource, MaxEnvFrom+1)
			for i := range s.EnvFrom {
				s.EnvFrom[i].File = fmt.Sprintf("%d.env", i)
			}
		}, "spec.envFrom", "over the bound of 16"},
		{"empty path", func(s *AppSpec) {
			s.RolloutOnChange = &RolloutOnChange{Paths: []string{"a", ""}}
		}, "spec.rolloutOnChange.paths[1]", "required"},
		{"too many paths", func(s *AppSpec) {
			s.RolloutOnChange = &RolloutOnChange{Paths: make([]string, MaxRolloutPaths+1)}
			for i := range s.RolloutOnChange.Paths {
				s.RolloutOnChange.Paths[i] = fmt.Sprint(i)
			}
		}, "spec.rolloutOnChange.paths", "over the bound of 64"},
		{"executable behind $(VAR)", func(s *AppSpec) {
			s.Command[0] = "$(HOME)/bin/web"
			s.RolloutOnChange = &RolloutOnChange{Executable: true}
		}, "spec.rolloutOnChange.executable", "uses $(VAR)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := validApp()
			tt.mutate(&a.Spec)
			errs := Validate(a)
			for _, e := range errs {
				if e.Field == tt.field && strings.Contains(e.Message, tt.msg) {
					return
				}
			}
			t.Errorf("want %s: %s; got %v", tt.field, tt.msg, errs)
		})
	}
	a := validApp()
	a.Spec.Env[1] = EnvVar{Name: "TOKEN", ValueFrom: &EnvVarSource{File: "/run/secrets/token"}}
	a.Spec.EnvFrom = []EnvFromSource{{File: ".env", Optional: true}}
	a.Spec.RolloutOnChange = &RolloutOnChange{Executable: true, Paths: []string{"../common-config"}}
	if errs := Validate(a); len(errs) != 0 {
		t.Errorf("valid content fields: %v", errs)
	}
}

func TestAppRevision_ChangesWithTheDigestOnly(t *testing.T) {
	spec := &validApp().Spec
	base := Revision(spec)
	if got := AppRevision(&App{Spec: *spec}, ""); got != base {
		t.Errorf("no digest: %s, want the spec's revision %s", got, base)
	}
	a, b := AppRevision(&App{Spec: *spec}, "d1"), AppRevision(&App{Spec: *spec}, "d2")
	if a == b || a == base {
		t.Errorf("digests d1, d2 gave %s, %s (spec alone %s): want three revisions", a, b, base)
	}
	if again := AppRevision(&App{Spec: *spec}, "d1"); again != a {
		t.Errorf("same digest gave %s then %s", a, again)
	}
	other := spec.DeepCopy()
	other.Replicas = ptr(int32(9)) // not part of a revision
	if got := AppRevision(&App{Spec: *other}, "d1"); got != a {
		t.Errorf("replicas changed the revision with content: %s, want %s", got, a)
	}
}

func TestSecretNeverPrints(t *testing.T) {
	const value = "hunter2-very-secret"
	c := Content{Digest: "abc", EnvFrom: []EnvValue{{Name: "A", Value: NewSecret(value)}}, Values: map[int]Secret{0: NewSecret(value)}}
	var logged strings.Builder
	slog.New(slog.NewTextHandler(&logged, nil)).Info("x", "content", c, "secret", c.Values[0])
	js, _ := json.Marshal(c)
	for what, s := range map[string]string{
		"%v": fmt.Sprintf("%v", c), "%+v": fmt.Sprintf("%+v", c), "%#v": fmt.Sprintf("%#v", c),
		"%s": fmt.Sprintf("%s", c.EnvFrom[0].Value), "%q": fmt.Sprintf("%q", c.Values[0]),
		"json": string(js), "slog": logged.String(),
	} {
		if strings.Contains(s, value) {
			t.Errorf("%s shows the secret: %s", what, s)
		}
	}
	if c.Values[0].Reveal() != value {
		t.Error("Reveal lost the value")
	}
}
