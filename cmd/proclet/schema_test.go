package main

import (
	"bytes"
	"os"
	"strings"
	"testing"
)

// proclet schema --kind App prints docs/schema/app.json (Job, CronJob:
// theirs); without --kind,
// one schema of every kind; an unknown kind is a usage error.
func TestSchema_PrintsTheKindsSchemas(t *testing.T) {
	want, err := os.ReadFile("../../docs/schema/app.json")
	if err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	if code := run([]string{"schema", "--kind", "App"}, &out, &errOut); code != 0 || !bytes.Equal(out.Bytes(), want) {
		t.Errorf("--kind App: exit %d, %d bytes (want docs/schema/app.json, %d), stderr %q", code, out.Len(), len(want), errOut.String())
	}
	out.Reset()
	if code := run([]string{"schema"}, &out, &errOut); code != 0 || !strings.Contains(out.String(), `"App": {`) ||
		!strings.Contains(out.String(), `"$ref": "#/$defs/App"`) {
		t.Errorf("every kind: exit %d, output %.200s", code, out.String())
	}
	for _, k := range []struct{ kind, file string }{{"Job", "job.json"}, {"CronJob", "cronjob.json"}} {
		want, err := os.ReadFile("../../docs/schema/" + k.file)
		if err != nil {
			t.Fatal(err)
		}
		out.Reset()
		if code := run([]string{"schema", "--kind", k.kind}, &out, &errOut); code != 0 || !bytes.Equal(out.Bytes(), want) {
			t.Errorf("--kind %s: exit %d, %d bytes (want docs/schema/%s, %d)", k.kind, code, out.Len(), k.file, len(want))
		}
	}
	errOut.Reset()
	if code := run([]string{"schema", "--kind", "Pod"}, &out, &errOut); code != 2 || !strings.Contains(errOut.String(), `unknown kind "Pod" (want one of App, Job, CronJob)`) {
		t.Errorf("--kind Pod: exit %d, stderr %q", code, errOut.String())
	}
}
