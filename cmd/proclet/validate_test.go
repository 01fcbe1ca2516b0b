package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// validate takes files and folders, and prints every problem of each
// file in one pass, ordered by line, cycles across files included.
func TestValidate_EveryProblemOfFilesAndFolders(t *testing.T) {
	dir := t.TempDir()
	write := func(name, data string) string {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	a := write("one/a.yaml", `apiVersion: proclet.dev/v1alpha1
kind: App
metadata: {name: a}
spec:
  replicas: "three"
  command: [./a]
  dependsOn: [{app: b}]
  restartPolicy: Sometimes
`)
	b := write("two/b.yaml", `apiVersion: proclet.dev/v1alpha1
kind: App
metadata: {name: b}
spec:
  command: [./b]
  dependsOn: [{app: a}]
`)
	var out, errOut bytes.Buffer
	code := runValidate([]string{filepath.Join(dir, "one"), b}, &out, &errOut)
	want := a + `:5: spec.replicas: want an integer, got a string "three"
` + a + `:7: spec.dependsOn[0].app: dependency cycle: a -> b -> a
` + a + `:8: spec.restartPolicy: "Sometimes" is not one of Always, OnFailure, Never
`
	if code != 1 || out.String() != want || !strings.Contains(errOut.String(), "3 problem(s)") {
		t.Errorf("exit %d, stdout:\n%s\nwant:\n%s\nstderr: %s", code, out.String(), want, errOut.String())
	}

	out.Reset()
	errOut.Reset()
	if code := runValidate([]string{b}, &out, &errOut); code != 0 || out.Len() != 0 ||
		!strings.Contains(errOut.String(), "1 app(s), no problems") {
		t.Errorf("a valid file: exit %d, %q, %q", code, out.String(), errOut.String())
	}
	out.Reset()
	if code := runValidate([]string{filepath.Join(dir, "missing.yaml")}, &out, &errOut); code != 1 ||
		!strings.Contains(out.String(), "missing.yaml") {
		t.Errorf("a missing file: exit %d, %q", code, out.String())
	}
}

// validate checks Jobs and CronJobs as the daemon reads them: a problem
// is at the kind's own field, a name is unique across the kinds, and a
// valid set is counted by kind.
func TestValidate_JobKinds(t *testing.T) {
	dir := t.TempDir()
	write := func(name, data string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	const job = `apiVersion: proclet.dev/v1alpha1
kind: Job
metadata: {name: migrate}
spec:
  command: [./migrate]
---
apiVersion: proclet.dev/v1alpha1
kind: CronJob
metadata: {name: report}
spec:
  schedule: "0 3 * * *"
  timeZone: Europe/Paris
  jobTemplate: {spec: {command: [./report]}}
`
	jobs := write("jobs.yaml", job)
	web := write("web.yaml", `apiVersion: proclet.dev/v1alpha1
kind: App
metadata: {name: web}
spec:
  command: [./web]
  dependsOn: [{app: migrate, condition: Complete}]
`)
	var out, errOut bytes.Buffer
	if code := runValidate([]string{jobs, web}, &out, &errOut); code != 0 || out.Len() != 0 ||
		errOut.String() != "1 app(s), 1 job(s), 1 cronjob(s), no problems\n" {
		t.Errorf("valid: exit %d, %q, %q", code, out.String(), errOut.String())
	}
	bad := write("bad.yaml", strings.NewReplacer(`"0 3 * * *"`, `"0 3 * *"`, "Europe/Paris", "Europe/Atlantis", "name: report", "name: web").Replace(job)+
		"---\napiVersion: proclet.dev/v1alpha1\nkind: Deployment\nmetadata: {name: x}\n")
	out.Reset()
	errOut.Reset()
	code := runValidate([]string{web, bad}, &out, &errOut)
	want := bad + `:9: metadata.name: cronjob "web" is already defined in ` + web + ` (as an app)
` + bad + `:11: spec.schedule: expected exactly 5 fields, found 4: [0 3 * *]
` + bad + `:12: spec.timeZone: "Europe/Atlantis" is not a known time zone (an IANA name such as Europe/Paris)
` + bad + `:16: kind: "Deployment" is not a supported kind (want App, Job or CronJob)
`
	if code != 1 || out.String() != want {
		t.Errorf("exit %d, stdout:\n%s\nwant:\n%s", code, out.String(), want)
	}
}
