package v1alpha1

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

var fuzzExts = []string{".yaml", ".json", ".toml"}

// addTestdata seeds f with every file of testdata as (format, bytes).
func addTestdata(f *testing.F) {
	f.Helper()
	files, _ := filepath.Glob(filepath.Join("testdata", "*"))
	for _, name := range files {
		data, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		for i, ext := range fuzzExts {
			if strings.HasSuffix(name, ext) {
				f.Add(uint8(i), data)
			}
		}
	}
}

// FuzzDecodeFile feeds arbitrary bytes to the decoder of each format. No
// input may panic (decodeFile is called without DecodeFile's recover), and
// what decodes must be a valid, defaulted App that survives a JSON round
// trip unchanged.
func FuzzDecodeFile(f *testing.F) {
	addTestdata(f)
	for _, s := range []string{
		minimal,
		minimal + "---\n" + minimal,
		minimal + "  replicas: 0\n  ports: [{name: http, range: 8000-8001}]\n",
		"a: &a [*a]\n",
		"a: &x {b: 1}\nc: {<<: *x, d: 2}\n",
		minimal + "  readinessProbe: {httpGet: {port: http}}\n",
		minimal + "  initCommands: [{name: a, command: [a, $(X)], env: [{name: X, value: $(Y)$(Y)}]}]\n",
		strings.Replace(minimal, "kind: App", "kind: Job", 1) + "  completions: 3\n  completionMode: Indexed\n",
		"apiVersion: proclet.dev/v1alpha1\nkind: CronJob\nmetadata: {name: c}\nspec:\n  schedule: '*/5 * * * *'\n  timeZone: UTC\n" +
			"  jobTemplate: {spec: {command: [c]}}\n",
		"apiVersion: proclet.dev/v1alpha1\nkind: CronJob\nmetadata: {name: c}\nspec: {schedule: 'TZ=UTC', jobTemplate: {spec: {command: [c]}}}\n",
	} {
		f.Add(uint8(0), []byte(s))
	}
	f.Add(uint8(1), []byte(`[{"apiVersion":"proclet.dev/v1alpha1","kind":"App","metadata":{"name":"a"},"spec":{"command":["a"]}}]`))
	f.Add(uint8(2), []byte("apiVersion='proclet.dev/v1alpha1'\nkind='App'\nmetadata={name='a'}\nspec={command=['a']}\n"))

	f.Fuzz(func(t *testing.T, ext uint8, data []byte) {
		path := "fuzz" + fuzzExts[int(ext)%len(fuzzExts)]
		apps, err := decodeFile(path, data)
		if err != nil {
			var list ErrorList
			if !errors.As(err, &list) || len(list) == 0 || apps != nil {
				t.Fatalf("error %v (%T) with %d apps", err, err, len(apps))
			}
			for _, e := range list {
				if e.File != path || e.Message == "" || e.Line < 0 {
					t.Fatalf("malformed error %+v", e)
				}
			}
			return
		}
		for i := range apps {
			a := &apps[i]
			if errs := Validate(a); len(errs) != 0 {
				t.Fatalf("decoded app does not validate: %v", errs)
			}
			assertDefaulted(t, a)
			c := a.DeepCopy()
			Default(c)
			if !reflect.DeepEqual(a, c) {
				t.Fatalf("copy or Default changed the app")
			}
			if len(Revision(&a.Spec)) != 10 {
				t.Fatalf("bad revision")
			}
			if len(AppRevision(a, "")) != 10 {
				t.Fatalf("bad app revision")
			}
			var obj any = a // a carried Job or CronJob marshals as its object
			if j := a.AsJob(); j != nil {
				obj = j
			} else if c := a.AsCronJob(); c != nil {
				obj = c
			}
			raw, err := json.Marshal(obj)
			if err != nil {
				t.Fatal(err)
			}
			again, err := decodeFile("again.json", raw)
			if err != nil || len(again) != 1 {
				t.Fatalf("round trip of %s: %v", raw, err)
			}
			if !reflect.DeepEqual(&again[0], a) {
				t.Fatalf("round trip changed the app:\n%+v\n%+v", again[0], *a)
			}
		}
	})
}
