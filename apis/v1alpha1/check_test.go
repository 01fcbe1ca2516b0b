package v1alpha1

import (
	"strings"
	"testing"
)

// errLines prints a list one problem a line, without the file.
func errLines(list ErrorList) string {
	var b strings.Builder
	for _, e := range list {
		e2 := *e
		e2.File = "f"
		b.WriteString(e2.Error() + "\n")
	}
	return b.String()
}

// A wrongly typed value no longer hides the rest of the file's problems,
// and what it leaves unset is not reported again.
func TestCheckFile_EveryProblemInOnePass(t *testing.T) {
	data := `apiVersion: proclet.dev/v1alpha1
kind: App
metadata: {name: a}
spec:
  replicas: "three"
  command: [./a]
  restartPolicy: Sometimes
  ports: [{name: http, port: lots}]
  readinessProbe: {exec: "./check"}
  livenessProbe: {httpGet: {port: nope}}
  stopSignal: SIGFOO
---
apiVersion: proclet.dev/v1alpha1
kind: App
metadata: {name: B}
spec:
  comand: [./b]
  strategy: {type: Recreate, rollingUpdate: {maxSurge: 1}}
`
	c := CheckFile("f.yaml", []byte(data))
	want := `f:5: spec.replicas: want an integer, got a string "three"
f:7: spec.restartPolicy: "Sometimes" is not one of Always, OnFailure, Never
f:8: spec.ports[0].port: want an integer, got a string "lots"
f:9: spec.readinessProbe.exec: want an object, got a string "./check"
f:10: spec.livenessProbe.httpGet.port: "nope" is not the name of a port of this app (spec.ports)
f:11: spec.stopSignal: "SIGFOO" is not a signal name (want e.g. SIGTERM, SIGINT, SIGQUIT, SIGHUP, SIGUSR1)
f:15: metadata.name: "B" is not a DNS-1123 label (lowercase letters, digits and '-', starting and ending with a letter or digit, at most 63 characters)
f:17: spec.comand: unknown field (did you mean "command"?)
f:18: spec.strategy.rollingUpdate: must not be set when type is Recreate
`
	if got := errLines(c.Errors); got != want {
		t.Errorf("errors:\n%s\nwant:\n%s", got, want)
	}
	if len(c.Apps) != 2 || c.Apps[0].Spec.Replicas == nil || *c.Apps[0].Spec.Replicas != 1 {
		t.Errorf("apps = %d, want both, the refused replicas unset (defaulted)", len(c.Apps))
	}
	// The daemon's reading is unchanged: any problem, no app.
	if apps, err := DecodeFile("f.yaml", []byte(data)); apps != nil || err == nil {
		t.Errorf("DecodeFile = %d apps, %v", len(apps), err)
	}
}

// A dependsOn cycle in a file shows with the file's other problems, not
// only once they are fixed; so does a name defined twice.
func TestCheckFile_CycleAndDuplicateWithOtherProblems(t *testing.T) {
	data := `apiVersion: proclet.dev/v1alpha1
kind: App
metadata: {name: a}
spec:
  replicas: many
  command: [./a]
  dependsOn: [{app: b}]
---
apiVersion: proclet.dev/v1alpha1
kind: App
metadata: {name: b}
spec:
  command: [./b]
  dependsOn: [{app: a}]
  terminationGracePeriodSeconds: -1
---
apiVersion: proclet.dev/v1alpha1
kind: App
metadata: {name: b}
spec:
  command: [./c]
`
	got := errLines(CheckFile("f.yaml", []byte(data)).Errors)
	want := `f:5: spec.replicas: want an integer, got a string "many"
f:7: spec.dependsOn[0].app: dependency cycle: a -> b -> a
f:15: spec.terminationGracePeriodSeconds: -1 must be >= 0
f:19: metadata.name: "b" is already defined in this file (line 11)
`
	if got != want {
		t.Errorf("errors:\n%s\nwant:\n%s", got, want)
	}
}

// CheckSet finds the cycles and names across files, also through files
// with other problems, each at its file and line; a cycle within one file
// is that file's and is not repeated.
func TestCheckSet_AcrossFiles(t *testing.T) {
	a := CheckFile("a.yaml", []byte(`apiVersion: proclet.dev/v1alpha1
kind: App
metadata: {name: a}
spec:
  command: [./a]
  replicas: "2"
  dependsOn: [{app: x}, {app: b}]
`))
	b := CheckFile("b.yaml", []byte(`apiVersion: proclet.dev/v1alpha1
kind: App
metadata: {name: b}
spec:
  command: [./b]
  dependsOn: [{app: a}]
---
apiVersion: proclet.dev/v1alpha1
kind: App
metadata: {name: c}
spec:
  command: [./c]
  dependsOn: [{app: d}]
---
apiVersion: proclet.dev/v1alpha1
kind: App
metadata: {name: d}
spec:
  command: [./d]
  dependsOn: [{app: c}]
`))
	c := CheckFile("c.yaml", []byte(`apiVersion: proclet.dev/v1alpha1
kind: App
metadata:
  name: a
spec:
  command: [./a2]
`))
	CheckSet([]*FileCheck{a, b, c})
	for _, tt := range []struct {
		f    *FileCheck
		want string
	}{
		{a, "f:6: spec.replicas: want an integer, got a string \"2\"\nf:7: spec.dependsOn[1].app: dependency cycle: a -> b -> a\n"},
		{b, "f:13: spec.dependsOn[0].app: dependency cycle: c -> d -> c\n"},
		{c, "f:4: metadata.name: app \"a\" is already defined in a.yaml\n"},
	} {
		if got := errLines(tt.f.Errors); got != tt.want {
			t.Errorf("%s:\n%s\nwant:\n%s", tt.f.Path, got, tt.want)
		}
	}
	if c.Errors[0].Reason != ReasonDuplicateName {
		t.Errorf("reason = %s", c.Errors[0].Reason)
	}
}

// A problem CheckSet adds to a file that already has the most problems
// reported goes before the "and N more" that ends its list.
func TestCheckSet_KeepsTheCapLast(t *testing.T) {
	var b strings.Builder
	b.WriteString(strings.Replace(minimal, "name: web", "name: a", 1))
	for i := range maxErrors + 5 {
		b.WriteString("  bogus" + strings.Repeat("x", i) + ": 1\n")
	}
	a := CheckFile("a.yaml", []byte(b.String()))
	other := CheckFile("b.yaml", []byte(minimal+"---\n"+strings.Replace(minimal, "name: web", "name: a", 1)))
	CheckSet([]*FileCheck{other, a})
	last := a.Errors[len(a.Errors)-1]
	if len(a.Errors) != maxErrors+2 || !strings.Contains(last.Message, "and 5 more") ||
		a.Errors[0].Reason != ReasonDuplicateName || a.Errors[0].Line != 4 {
		t.Errorf("%d errors, first %v, last %v", len(a.Errors), a.Errors[0], last)
	}
}
