package manifestedit

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"proclet.dev/proclet/apis/v1alpha1"
)

const (
	key = v1alpha1.RestartedAtAnnotation
	ts  = "2026-12-07T16:50:00Z"
)

// Each case is a real manifest and the exact text the edit must give:
// comments, indentation, quoting and the other documents unchanged.
var editCases = []struct {
	name, path, app, in, want string
}{
	{
		name: "block metadata without annotations, comments kept",
		path: "web.yaml", app: "web",
		in: `# the web tier
apiVersion: proclet.dev/v1alpha1
kind: App
metadata:
  # its name
  name: web   # trailing comment
  labels:
    team: storefront
spec:
  command: ["./web"]  # flow list
`,
		want: `# the web tier
apiVersion: proclet.dev/v1alpha1
kind: App
metadata:
  # its name
  annotations:
    proclet.dev/restartedAt: "2026-12-07T16:50:00Z"
  name: web   # trailing comment
  labels:
    team: storefront
spec:
  command: ["./web"]  # flow list
`,
	},
	{
		name: "odd indentation (4 and 3 spaces) is followed",
		path: "web.yml", app: "web",
		in: `apiVersion: proclet.dev/v1alpha1
kind: App
metadata:
    name: web
spec:
   command:
   - ./web
`,
		want: `apiVersion: proclet.dev/v1alpha1
kind: App
metadata:
    annotations:
        proclet.dev/restartedAt: "2026-12-07T16:50:00Z"
    name: web
spec:
   command:
   - ./web
`,
	},
	{
		name: "flow-style metadata",
		path: "web.yaml", app: "web",
		in: `apiVersion: proclet.dev/v1alpha1
kind: App
metadata: {name: web, labels: {a: b}}   # one line
spec: {command: [./web]}
`,
		want: `apiVersion: proclet.dev/v1alpha1
kind: App
metadata: {name: web, labels: {a: b}, annotations: {proclet.dev/restartedAt: "2026-12-07T16:50:00Z"}}   # one line
spec: {command: [./web]}
`,
	},
	{
		name: "an existing annotations map gets one line at its indentation",
		path: "web.yaml", app: "web",
		in: `apiVersion: proclet.dev/v1alpha1
kind: App
metadata:
  name: web
  annotations:
      owner: "ops"   # who to call
spec:
  command: [./web]
`,
		want: `apiVersion: proclet.dev/v1alpha1
kind: App
metadata:
  name: web
  annotations:
      proclet.dev/restartedAt: "2026-12-07T16:50:00Z"
      owner: "ops"   # who to call
spec:
  command: [./web]
`,
	},
	{
		name: "an existing restartedAt is replaced where it is, comment kept",
		path: "web.yaml", app: "web",
		in: `apiVersion: proclet.dev/v1alpha1
kind: App
metadata:
  name: web
  annotations:
    proclet.dev/restartedAt: 2026-01-01T00:00:00Z # last restart
    owner: ops
spec:
  command: [./web]
`,
		want: `apiVersion: proclet.dev/v1alpha1
kind: App
metadata:
  name: web
  annotations:
    proclet.dev/restartedAt: "2026-12-07T16:50:00Z" # last restart
    owner: ops
spec:
  command: [./web]
`,
	},
	{
		name: "an existing quoted restartedAt in a flow map",
		path: "web.yaml", app: "web",
		in: `apiVersion: proclet.dev/v1alpha1
kind: App
metadata: {name: web, annotations: {'proclet.dev/restartedAt': 'old', x: y}}
spec: {command: [./web]}
`,
		want: `apiVersion: proclet.dev/v1alpha1
kind: App
metadata: {name: web, annotations: {'proclet.dev/restartedAt': "2026-12-07T16:50:00Z", x: y}}
spec: {command: [./web]}
`,
	},
	{
		name: "empty annotations: and empty {}",
		path: "web.yaml", app: "web",
		in: `apiVersion: proclet.dev/v1alpha1
kind: App
metadata:
  name: web
  annotations:   # none yet
  labels: {}
spec:
  command: [./web]
`,
		want: `apiVersion: proclet.dev/v1alpha1
kind: App
metadata:
  name: web
  annotations:   # none yet
    proclet.dev/restartedAt: "2026-12-07T16:50:00Z"
  labels: {}
spec:
  command: [./web]
`,
	},
	{
		name: "multi-document: only the app's document changes",
		path: "apps.yaml", app: "worker",
		in: `apiVersion: proclet.dev/v1alpha1
kind: App
metadata:
  name: web
spec:
  command: [./web]
---
# the worker
apiVersion: proclet.dev/v1alpha1
kind: App
metadata:
  name: worker
  annotations: {}
spec:
  command: [./worker]
...
`,
		want: `apiVersion: proclet.dev/v1alpha1
kind: App
metadata:
  name: web
spec:
  command: [./web]
---
# the worker
apiVersion: proclet.dev/v1alpha1
kind: App
metadata:
  name: worker
  annotations: {proclet.dev/restartedAt: "2026-12-07T16:50:00Z"}
spec:
  command: [./worker]
...
`,
	},
	{
		name: "JSON, indented",
		path: "web.json", app: "web",
		in: `{
    "apiVersion": "proclet.dev/v1alpha1",
    "kind": "App",
    "metadata": {
        "name": "web"
    },
    "spec": {"command": ["./web"]}
}
`,
		want: `{
    "apiVersion": "proclet.dev/v1alpha1",
    "kind": "App",
    "metadata": {
        "annotations": {"proclet.dev/restartedAt": "2026-12-07T16:50:00Z"},
        "name": "web"
    },
    "spec": {"command": ["./web"]}
}
`,
	},
	{
		name: "JSON list, one line, existing annotations and restartedAt",
		path: "apps.json", app: "b",
		in: `[{"apiVersion": "proclet.dev/v1alpha1", "kind": "App", "metadata": {"name": "a"}, "spec": {"command": ["./a"]}},
 {"apiVersion": "proclet.dev/v1alpha1", "kind": "App", "metadata": {"name": "b", "annotations": {"x": "y", "proclet.dev/restartedAt": "old"}}, "spec": {"command": ["./b"]}}]`,
		want: `[{"apiVersion": "proclet.dev/v1alpha1", "kind": "App", "metadata": {"name": "a"}, "spec": {"command": ["./a"]}},
 {"apiVersion": "proclet.dev/v1alpha1", "kind": "App", "metadata": {"name": "b", "annotations": {"x": "y", "proclet.dev/restartedAt": "2026-12-07T16:50:00Z"}}, "spec": {"command": ["./b"]}}]`,
	},
	{
		name: "JSON, annotations inline object gets the member first",
		path: "web.json", app: "web",
		in:   `{"apiVersion": "proclet.dev/v1alpha1", "kind": "App", "metadata": {"name": "web", "annotations": {"x": "y"}}, "spec": {"command": ["./web"]}}`,
		want: `{"apiVersion": "proclet.dev/v1alpha1", "kind": "App", "metadata": {"name": "web", "annotations": {"proclet.dev/restartedAt": "2026-12-07T16:50:00Z", "x": "y"}}, "spec": {"command": ["./web"]}}`,
	},
	{
		name: "TOML without annotations: a new table at the end",
		path: "web.toml", app: "web",
		in: `# web
apiVersion = "proclet.dev/v1alpha1"
kind = "App"

[metadata]
name = "web"

[spec]
command = ["./web"]`,
		want: `# web
apiVersion = "proclet.dev/v1alpha1"
kind = "App"

[metadata]
name = "web"

[spec]
command = ["./web"]

[metadata.annotations]
"proclet.dev/restartedAt" = "2026-12-07T16:50:00Z"
`,
	},
	{
		name: "TOML with the table and the key: replaced in place",
		path: "web.toml", app: "web",
		in: `apiVersion = "proclet.dev/v1alpha1"
kind = "App"
[metadata]
name = "web"
[metadata.annotations]
owner = "ops"
'proclet.dev/restartedAt' = 'old' # last
[spec]
command = ["./web"]
`,
		want: `apiVersion = "proclet.dev/v1alpha1"
kind = "App"
[metadata]
name = "web"
[metadata.annotations]
owner = "ops"
'proclet.dev/restartedAt' = "2026-12-07T16:50:00Z" # last
[spec]
command = ["./web"]
`,
	},
	{
		name: "TOML with the table without the key: a line after the header",
		path: "web.toml", app: "web",
		in: `apiVersion = "proclet.dev/v1alpha1"
kind = "App"
[metadata]
name = "web"
[metadata.annotations]
owner = "ops"
[spec]
command = ["./web"]
`,
		want: `apiVersion = "proclet.dev/v1alpha1"
kind = "App"
[metadata]
name = "web"
[metadata.annotations]
"proclet.dev/restartedAt" = "2026-12-07T16:50:00Z"
owner = "ops"
[spec]
command = ["./web"]
`,
	},
}

func TestSetAnnotationEditsOnlyWhatIsNeeded(t *testing.T) {
	for _, tc := range editCases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := SetAnnotation(tc.path, []byte(tc.in), tc.app, key, ts)
			if err != nil {
				t.Fatalf("SetAnnotation: %v", err)
			}
			if string(got) != tc.want {
				t.Fatalf("got:\n%s\nwant:\n%s", got, tc.want)
			}
			assertSameAppsPlusAnnotation(t, tc.path, tc.in, got, tc.app)
		})
	}
}

// assertSameAppsPlusAnnotation decodes both texts independently of the
// editor's own check.
func assertSameAppsPlusAnnotation(t *testing.T, path, in string, out []byte, app string) {
	t.Helper()
	before, err := v1alpha1.DecodeFile(path, []byte(in))
	if err != nil {
		t.Fatalf("input does not decode: %v", err)
	}
	after, err := v1alpha1.DecodeFile(path, out)
	if err != nil {
		t.Fatalf("output does not decode: %v", err)
	}
	if len(before) != len(after) {
		t.Fatalf("%d apps before, %d after", len(before), len(after))
	}
	for i := range before {
		b, a := before[i], after[i]
		if !reflect.DeepEqual(b.Spec, a.Spec) || !reflect.DeepEqual(b.Metadata.Labels, a.Metadata.Labels) || b.Metadata.Name != a.Metadata.Name {
			t.Fatalf("app %d changed beyond its annotations:\n%+v\n%+v", i, b, a)
		}
		wantAnn := map[string]string{}
		for k, v := range b.Metadata.Annotations {
			wantAnn[k] = v
		}
		if b.Metadata.Name == app {
			wantAnn[key] = ts
		}
		gotAnn := a.Metadata.Annotations
		if gotAnn == nil {
			gotAnn = map[string]string{}
		}
		if !reflect.DeepEqual(gotAnn, wantAnn) {
			t.Fatalf("app %s annotations = %v, want %v", b.Metadata.Name, gotAnn, wantAnn)
		}
		if b.Metadata.Name == app && v1alpha1.AppRevision(&a, "") == v1alpha1.AppRevision(&b, "") {
			t.Fatalf("app %s: the revision did not change", app)
		}
	}
}

func TestSetAnnotationKeepsCRLFLineEnds(t *testing.T) {
	in := "apiVersion: proclet.dev/v1alpha1\r\nkind: App\r\nmetadata:\r\n  name: web\r\nspec:\r\n  command: [./web]\r\n"
	want := "apiVersion: proclet.dev/v1alpha1\r\nkind: App\r\nmetadata:\r\n  annotations:\r\n    proclet.dev/restartedAt: \"" + ts + "\"\r\n  name: web\r\nspec:\r\n  command: [./web]\r\n"
	got, err := SetAnnotation("web.yaml", []byte(in), "web", key, ts)
	if err != nil || string(got) != want {
		t.Fatalf("got %q, %v\nwant %q", got, err, want)
	}
}

// check is the safety net behind every edit: a result that changes
// anything but the annotation is refused.
func TestCheckRefusesAnyOtherChange(t *testing.T) {
	in := "apiVersion: proclet.dev/v1alpha1\nkind: App\nmetadata:\n  name: web\nspec:\n  command: [./web]\n"
	apps, err := v1alpha1.DecodeFile("web.yaml", []byte(in))
	if err != nil {
		t.Fatal(err)
	}
	good := "apiVersion: proclet.dev/v1alpha1\nkind: App\nmetadata:\n  name: web\n  annotations: {proclet.dev/restartedAt: \"" + ts + "\"}\nspec:\n  command: [./web]\n"
	if err := check("web.yaml", apps, []byte(good), "web", key, ts); err != nil {
		t.Fatalf("the right edit was refused: %v", err)
	}
	for name, out := range map[string]string{
		"spec changed":       strings.Replace(good, "./web", "./other", 1),
		"no annotation":      in,
		"another annotation": strings.Replace(good, "}", ", x: y}", 1),
		"broken":             good + "  : [\n",
		"app added":          good + "---\napiVersion: proclet.dev/v1alpha1\nkind: App\nmetadata: {name: api}\nspec: {command: [./api]}\n",
	} {
		if err := check("web.yaml", apps, []byte(out), "web", key, ts); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestSetAnnotationRefusesWhatItCannotEditSafely(t *testing.T) {
	cases := []struct{ name, path, in, why string }{
		{"anchored metadata", "web.yaml", "apiVersion: proclet.dev/v1alpha1\nkind: App\nmetadata: &m\n  name: web\nspec:\n  command: [./web]\n", "anchor"},
		{"block-scalar restartedAt", "web.yaml", "apiVersion: proclet.dev/v1alpha1\nkind: App\nmetadata:\n  name: web\n  annotations:\n    proclet.dev/restartedAt: |\n      old\nspec:\n  command: [./web]\n", "block scalar"},
		{"TOML inline metadata", "web.toml", "apiVersion = \"proclet.dev/v1alpha1\"\nkind = \"App\"\nmetadata = {name = \"web\"}\n[spec]\ncommand = [\"./web\"]\n", "would not decode"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			out, err := SetAnnotation(tc.path, []byte(tc.in), "web", key, ts)
			var re *RefusedError
			if !errors.As(err, &re) {
				t.Fatalf("got %q, %v; want a RefusedError", out, err)
			}
			if !strings.Contains(re.Reason, tc.why) || !strings.Contains(re.Change, key) || !strings.Contains(re.Change, `"`+ts+`"`) {
				t.Fatalf("refusal %q / change %q: want the reason to mention %q and the change to name the annotation and value", re.Reason, re.Change, tc.why)
			}
		})
	}
}

func TestSetAnnotationRejectsHostileInput(t *testing.T) {
	huge := "apiVersion: proclet.dev/v1alpha1\nkind: App\nmetadata:\n  name: web\nspec:\n  command: [./web]\n#" + strings.Repeat("x", MaxSize) + "\n"
	cases := []struct{ name, path, in, want string }{
		{"over 1 MiB", "web.yaml", huge, "larger than the 1 MiB"},
		{"not a manifest", "key.yaml", "-----BEGIN KEY-----\n", "not a valid manifest"},
		{"binary", "web.json", "\x00\x01\x02", "not a valid manifest"},
		{"another app", "web.yaml", "apiVersion: proclet.dev/v1alpha1\nkind: App\nmetadata:\n  name: api\nspec:\n  command: [./api]\n", "app not defined"},
		{"unknown extension", "web.txt", "name: web\n", "not a valid manifest"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			out, err := SetAnnotation(tc.path, []byte(tc.in), "web", key, ts)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %d bytes, err %v; want an error containing %q", len(out), err, tc.want)
			}
			if len(err.Error()) > 2048 {
				t.Fatalf("error is %d bytes: it must not repeat the file", len(err.Error()))
			}
		})
	}
}
