package v1alpha1

import (
	"fmt"
	"strings"
	"testing"
)

// The init steps' rules and bounds, each at its field.
func TestValidateInitCommands(t *testing.T) {
	big := strings.Repeat("y", 60<<10)
	step := func(name string) InitCommand { return InitCommand{Name: name, Command: []string{"./" + name}} }
	tests := []struct {
		name  string
		init  func(s *AppSpec)
		field string // "" = valid
		msg   string
	}{
		{"valid", func(s *AppSpec) {
			s.InitCommands = []InitCommand{step("a"), {Name: "b", Command: []string{"./b", "$(X)"}, Env: []EnvVar{{Name: "X", Value: "1"}},
				WorkingDir: "/tmp", TimeoutSeconds: ptr(int64(30))}}
		}, "", ""},
		{"at the bound", func(s *AppSpec) {
			for i := range MaxInitCommands {
				s.InitCommands = append(s.InitCommands, step(fmt.Sprintf("s%d", i)))
			}
		}, "", ""},
		{"too many", func(s *AppSpec) {
			for i := range MaxInitCommands + 1 {
				s.InitCommands = append(s.InitCommands, step(fmt.Sprintf("s%d", i)))
			}
		}, "spec.initCommands", "has 17 entries, over the bound of 16"},
		{"duplicate name", func(s *AppSpec) { s.InitCommands = []InitCommand{step("a"), step("b"), step("a")} },
			"spec.initCommands[2].name", `"a" is already the name of spec.initCommands[0]`},
		{"bad name", func(s *AppSpec) { s.InitCommands = []InitCommand{step("A_b")} }, "spec.initCommands[0].name", "DNS-1123"},
		{"no command", func(s *AppSpec) { s.InitCommands = []InitCommand{{Name: "a"}} }, "spec.initCommands[0].command", "required"},
		{"empty program", func(s *AppSpec) { s.InitCommands = []InitCommand{{Name: "a", Command: []string{""}}} },
			"spec.initCommands[0].command[0]", "must not be empty"},
		{"timeout bound", func(s *AppSpec) {
			s.InitCommands = []InitCommand{{Name: "a", Command: []string{"a"}, TimeoutSeconds: ptr(int64(MaxDurationSeconds + 1))}}
		}, "spec.initCommands[0].timeoutSeconds", "must be at most 315360000"},
		{"timeout zero", func(s *AppSpec) {
			s.InitCommands = []InitCommand{{Name: "a", Command: []string{"a"}, TimeoutSeconds: ptr(int64(0))}}
		}, "spec.initCommands[0].timeoutSeconds", "0 must be >= 1"},
		{"env name twice", func(s *AppSpec) {
			s.InitCommands = []InitCommand{{Name: "a", Command: []string{"a"}, Env: []EnvVar{{Name: "X"}, {Name: "X"}}}}
		}, "spec.initCommands[0].env[1].name", `"X" is already set by spec.initCommands[0].env[0]`},
		{"env valueFrom", func(s *AppSpec) {
			s.InitCommands = []InitCommand{{Name: "a", Command: []string{"a"}, Env: []EnvVar{{Name: "X", ValueFrom: &EnvVarSource{File: "f"}}}}}
		}, "spec.initCommands[0].env[0].valueFrom", "is not supported in an init step"},
		{"argument over the bound, through spec.env", func(s *AppSpec) {
			s.Env = []EnvVar{{Name: "K", Value: strings.Repeat("k", 1<<10)}}
			s.InitCommands = []InitCommand{step("a"), {Name: "b", Command: []string{"b", strings.Repeat("$(K)", 65)}}}
		}, "spec.initCommands[1].command[1]", "expands to 66560 bytes, over the bound of 65536 bytes"},
		{"step env value over the bound", func(s *AppSpec) {
			s.Env = []EnvVar{{Name: "A", Value: big}}
			s.InitCommands = []InitCommand{{Name: "a", Command: []string{"a"}, Env: []EnvVar{{Name: "B", Value: "$(A)$(A)"}}}}
		}, "spec.initCommands[0].env[0].value", "expands to 122880 bytes"},
		{"step env over the total with spec.env", func(s *AppSpec) {
			for i := range 16 {
				s.Env = append(s.Env, EnvVar{Name: fmt.Sprintf("E%d", i), Value: big})
			}
			s.InitCommands = []InitCommand{{Name: "a", Command: []string{"a"},
				Env: []EnvVar{{Name: "B", Value: big}, {Name: "C", Value: big}}}}
		}, "spec.initCommands[0].env[1].value", "the expanded env entries and arguments reach"},
		{"a value over the bound is said once", func(s *AppSpec) {
			s.Env = []EnvVar{{Name: "A", Value: big}}
			s.InitCommands = []InitCommand{{Name: "a", Command: []string{"a", "$(B)"}, Env: []EnvVar{{Name: "B", Value: "$(A)$(A)"}}}}
		}, "spec.initCommands[0].env[0].value", "expands to 122880 bytes"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := validApp()
			tc.init(&a.Spec)
			Default(a)
			checkOneError(t, Validate(a), tc.field, tc.msg)
		})
	}
}

// Names are unique across the kinds across files too, and a dependency's
// condition is checked against a target in another file; a target in no
// file given is not an error (the reconciler waits for it).
func TestCheckSet_JobKindsAcrossFiles(t *testing.T) {
	a := CheckFile("a.yaml", []byte(minimal+"  dependsOn: [{app: migrate}, {app: report, condition: Complete}, {app: elsewhere, condition: Complete}]\n"))
	b := CheckFile("b.yaml", []byte(minimalJob+"  dependsOn: [{app: web, condition: Complete}]\n---\n"+minimalCronJob))
	c := CheckFile("c.yaml", []byte(strings.Replace(minimalJob, "name: migrate", "name: web", 1)+"---\n"+
		strings.Replace(minimal, "name: web", "name: report", 1)))
	CheckSet([]*FileCheck{a, b, c})
	for _, tt := range []struct {
		f    *FileCheck
		want string
	}{
		{a, "f:7: spec.dependsOn[0].condition: \"migrate\" is a job: depend on it with condition Complete, not Ready\n" +
			"f:7: spec.dependsOn[1].condition: \"report\" is a cronjob: it has no completion to wait for (depend on a Job or an App)\n"},
		{b, "f:7: spec.dependsOn[0].condition: \"web\" is an app: Complete is a job's condition (use Ready or Started)\n" +
			"f:7: spec.dependsOn[0].app: dependency cycle: migrate -> web -> migrate\n"},
		{c, "f:4: metadata.name: job \"web\" is already defined in a.yaml (as an app)\n" +
			"f:11: metadata.name: app \"report\" is already defined in b.yaml (as a cronjob)\n"},
	} {
		if got := errLines(tt.f.Errors); got != tt.want {
			t.Errorf("%s:\n%s\nwant:\n%s", tt.f.Path, got, tt.want)
		}
	}
}
