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
