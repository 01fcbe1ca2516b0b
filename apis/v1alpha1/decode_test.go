package v1alpha1

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"
)

func readTestdata(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func mustDecode(t *testing.T, path string, data []byte) []App {
	t.Helper()
	apps, err := DecodeFile(path, data)
	if err != nil {
		t.Fatalf("DecodeFile(%s): %v", path, err)
	}
	return apps
}

// decodeErrs decodes data that must fail and returns its problems.
func decodeErrs(t *testing.T, path string, data string) ErrorList {
	t.Helper()
	apps, err := DecodeFile(path, []byte(data))
	if err == nil {
		t.Fatalf("DecodeFile(%s) = %d apps, want an error", path, len(apps))
	}
	if apps != nil {
		t.Errorf("DecodeFile(%s) returned apps with an error", path)
	}
	var list ErrorList
	if !errors.As(err, &list) {
		t.Fatalf("error is %T, want ErrorList", err)
	}
	if !errors.Is(err, ErrInvalid) {
		t.Errorf("errors.Is(err, ErrInvalid) = false")
	}
	for _, e := range list {
		if e.File != path {
			t.Errorf("error %q has file %q, want %q", e, e.File, path)
		}
	}
	return list
}

// wantErr asserts list holds a problem at line (0: any line) and field
// whose message contains msg.
func wantErr(t *testing.T, list ErrorList, line int, field, msg string) {
	t.Helper()
	for _, e := range list {
		if e.Field == field && (line == 0 || e.Line == line) && strings.Contains(e.Message, msg) {
			return
		}
	}
	t.Errorf("no error at line %d, field %q, containing %q; got:\n%v", line, field, msg, list)
}

func names(apps []App) []string {
	var out []string
	for _, a := range apps {
		out = append(out, a.Metadata.Name)
	}
	return out
}

func TestDecodeTestdata(t *testing.T) {
	tests := []struct {
		file  string
		names string
	}{
		{"full.yaml", "web"},
		{"multi.yaml", "db,web"},
		{"app.json", "worker"},
		{"list.json", "a,b"},
		{"app.toml", "api"},
		{"jobs.yaml", "migrate,report,web"},
		{"job.json", "backup"},
		{"cronjob.toml", "cleanup"},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			apps := mustDecode(t, tt.file, readTestdata(t, tt.file))
			if got := strings.Join(names(apps), ","); got != tt.names {
				t.Errorf("names = %s, want %s", got, tt.names)
			}
			for _, a := range apps {
				if errs := Validate(&a); len(errs) != 0 {
					t.Errorf("decoded app does not validate: %v", errs)
				}
				assertDefaulted(t, &a)
			}
		})
	}
}

func TestDecodeFullYAMLValues(t *testing.T) {
	apps := mustDecode(t, "full.yaml", readTestdata(t, "full.yaml"))
	s := apps[0].Spec
	if *s.Replicas != 3 || s.Command[2] != ":$(PORT)" || s.Env[1].Value != "hello from $(PROCLET_INSTANCE)" {
		t.Errorf("spec = %+v", s)
	}
	if s.Ports[0].Range != "8000-8099" || s.ReadinessProbe.HTTPGet.Port != FromString("http") ||
		s.ReadinessProbe.PeriodSeconds != 5 || s.LivenessProbe.PeriodSeconds != 10 {
		t.Errorf("ports/probes = %+v %+v", s.Ports, s.ReadinessProbe)
	}
	if *s.Strategy.RollingUpdate.MaxSurge != FromInt(1) || *s.Strategy.RollingUpdate.MaxUnavailable != FromInt(0) {
		t.Errorf("rollingUpdate = %+v", s.Strategy.RollingUpdate)
	}
	if s.RestartBackoff.Max.Duration.String() != "5m0s" || s.Lifecycle.PreStop.Exec.Command[1] != "drain" {
		t.Errorf("backoff/lifecycle = %+v %+v", s.RestartBackoff, s.Lifecycle)
	}
	if apps[0].Metadata.Labels["team"] != "storefront" || s.NodeSelector["role"] != "web" {
		t.Errorf("labels/nodeSelector = %v %v", apps[0].Metadata.Labels, s.NodeSelector)
	}
}

func TestDecodeSameAppInEveryFormat(t *testing.T) {
	yamlApp := mustDecode(t, "a.yaml", []byte(`
apiVersion: proclet.dev/v1alpha1
kind: App
metadata: {name: api}
spec:
  replicas: 2
  command: [./api, --port, $(PORT)]
  stopSignal: INT
  ports: [{name: http, range: 7000-7009}]
  readinessProbe: {httpGet: {port: http, path: /ready}}
  restartBackoff: {initial: 2s, max: 1m}
`))
	tomlApp := mustDecode(t, "app.toml", readTestdata(t, "app.toml"))
	jsonApp := mustDecode(t, "a.json", []byte(`{"apiVersion":"proclet.dev/v1alpha1","kind":"App",
	"metadata":{"name":"api"},"spec":{"replicas":2,"command":["./api","--port","$(PORT)"],"stopSignal":"INT",
	"ports":[{"name":"http","range":"7000-7009"}],"readinessProbe":{"httpGet":{"port":"http","path":"/ready"}},
	"restartBackoff":{"initial":"2s","max":"1m"}}}`))
	want := Revision(&yamlApp[0].Spec)
	if got := Revision(&tomlApp[0].Spec); got != want {
		t.Errorf("TOML revision %s != YAML revision %s", got, want)
	}
	if got := Revision(&jsonApp[0].Spec); got != want {
		t.Errorf("JSON revision %s != YAML revision %s", got, want)
	}
}

const minimal = "apiVersion: proclet.dev/v1alpha1\nkind: App\nmetadata:\n  name: web\nspec:\n  command: [./web]\n"

func TestDecodeMultiDocumentNeverTruncated(t *testing.T) {
	data := minimal + "---\n" + strings.Replace(minimal, "web", "api", 2) + "---\n" + strings.Replace(minimal, "web", "db", 2)
	apps := mustDecode(t, "m.yaml", []byte(data))
	if got := strings.Join(names(apps), ","); got != "web,api,db" {
		t.Errorf("names = %s", got)
	}
	// An error in the last document fails the file, at the file's line.
	bad := data + "  replicas: -1\n"
	list := decodeErrs(t, "m.yaml", bad)
	wantErr(t, list, 21, "spec.replicas", "must be >= 0")
}

func TestDecodeEmpty(t *testing.T) {
	for _, tt := range []struct{ path, data string }{
		{"a.yaml", ""},
		{"a.yaml", "# just a comment\n"},
		{"a.yml", "---\n---\n"},
		{"a.yaml", "~\n"},
		{"a.json", "  \n"},
		{"a.json", "[]"},
		{"a.toml", "# nothing\n"},
		{"a.yaml", "\xef\xbb\xbf"},
	} {
		apps, err := DecodeFile(tt.path, []byte(tt.data))
		if err != nil || len(apps) != 0 {
			t.Errorf("DecodeFile(%s, %q) = %v, %v; want nothing", tt.path, tt.data, apps, err)
		}
	}
}

func TestDecodeUnknownFields(t *testing.T) {
	tests := []struct {
		path, data, field, msg string
		line                   int
	}{
		{"a.yaml", minimal + "  initialDelaySecond: 5\n", "spec.initialDelaySecond", "unknown field", 7},
		{"a.yaml", minimal + "  readinessProbe:\n    exec: {command: [x]}\n    initialDelaySecond: 5\n",
			"spec.readinessProbe.initialDelaySecond", `unknown field (did you mean "initialDelaySeconds"?)`, 9},
		{"a.yaml", minimal + "  Replicas: 2\n", "spec.Replicas", `did you mean "replicas"?`, 7},
		{"a.yaml", "namespace: x\n" + minimal, "namespace", "unknown field", 1},
		{"a.yaml", minimal + "  ports: [{name: http, port: 80, protocol: TCP}]\n", "spec.ports[0].protocol", "unknown field", 7},
		{"a.json", `{"apiVersion":"proclet.dev/v1alpha1","kind":"App","metadata":{"name":"a"},` + "\n" +
			`"spec":{"command":["a"],"restartBackoff":{"inital":"1s"}}}`, "spec.restartBackoff.inital", `did you mean "initial"?`, 2},
		{"a.toml", "apiVersion='proclet.dev/v1alpha1'\nkind='App'\nmetadata={name='a'}\n[spec]\ncommand=['a']\nreplica=1\n",
			"spec.replica", "unknown field", 6},
	}
	for _, tt := range tests {
		t.Run(tt.field, func(t *testing.T) {
			list := decodeErrs(t, tt.path, tt.data)
			wantErr(t, list, tt.line, tt.field, tt.msg)
		})
	}
}

func TestDecodeDuplicateKeys(t *testing.T) {
	list := decodeErrs(t, "a.yaml", minimal+"  replicas: 1\n  replicas: 2\n")
	wantErr(t, list, 8, "spec.replicas", "duplicate key (first at line 7)")

	list = decodeErrs(t, "a.yaml", minimal+"  nodeSelector:\n    role: a\n    role: b\n")
	wantErr(t, list, 9, "spec.nodeSelector[role]", "duplicate key (first at line 8)")

	list = decodeErrs(t, "a.json", `{"apiVersion":"proclet.dev/v1alpha1","kind":"App","kind":"App","metadata":{"name":"a"},"spec":{"command":["a"]}}`)
	wantErr(t, list, 1, "kind", "duplicate key")

	list = decodeErrs(t, "a.toml", "apiVersion='proclet.dev/v1alpha1'\nkind='App'\nkind='App'\n")
	wantErr(t, list, 3, "", "invalid TOML")
}

func TestDecodeDropsStatusAndGeneration(t *testing.T) {
	data := strings.Replace(minimal, "  name: web\n", "  name: web\n  generation: 42\n  creationTimestamp: \"2020-01-01T00:00:00Z\"\n", 1) +
		"status:\n  replicas: 7\n  whatever: {any: [shape]}\n"
	apps := mustDecode(t, "a.yaml", []byte(data))
	if m := apps[0].Metadata; apps[0].Status != nil || m.Generation != 0 || !m.CreationTimestamp.IsZero() {
		t.Errorf("status %+v, generation %d, creationTimestamp %v: want all dropped", apps[0].Status, m.Generation, m.CreationTimestamp)
	}
}

func TestDecodeReplicasZeroIsNotUnset(t *testing.T) {
	apps := mustDecode(t, "a.yaml", []byte(minimal+"  replicas: 0\n  terminationGracePeriodSeconds: 0\n"))
	if *apps[0].Spec.Replicas != 0 || *apps[0].Spec.TerminationGracePeriodSeconds != 0 {
		t.Errorf("explicit zeros lost: replicas %d, grace %d", *apps[0].Spec.Replicas, *apps[0].Spec.TerminationGracePeriodSeconds)
	}
	apps = mustDecode(t, "a.yaml", []byte(minimal))
	if *apps[0].Spec.Replicas != 1 || *apps[0].Spec.TerminationGracePeriodSeconds != 30 {
		t.Errorf("unset not defaulted: replicas %d, grace %d", *apps[0].Spec.Replicas, *apps[0].Spec.TerminationGracePeriodSeconds)
	}
	// null is unset too.
	apps = mustDecode(t, "a.yaml", []byte(minimal+"  replicas: null\n  restartBackoff:\n"))
	if *apps[0].Spec.Replicas != 1 {
		t.Errorf("replicas: null gave %d, want the default 1", *apps[0].Spec.Replicas)
	}
}

func TestDecodeTypes(t *testing.T) {
	// Scalars where a string is wanted are taken as written.
	apps := mustDecode(t, "a.yaml", []byte(minimal+
		"  env: [{name: PORT2, value: 8080}, {name: DEBUG, value: true}, {name: MODE, value: 0755}, {name: V, value: 1.10}]\n"+
		"  resources: {limits: {memory: 1048576}}\n"))
	env := apps[0].Spec.Env
	if env[0].Value != "8080" || env[1].Value != "true" || env[2].Value != "0755" || env[3].Value != "1.10" {
		t.Errorf("env = %+v", env)
	}
	if apps[0].Spec.Resources.Limits.Memory != "1048576" {
		t.Errorf("memory = %q", apps[0].Spec.Resources.Limits.Memory)
	}
	// "yes" is a string in YAML 1.2, not a boolean.
	apps = mustDecode(t, "a.yaml", []byte(minimal+"  env: [{name: A, value: yes}]\n"))
	if apps[0].Spec.Env[0].Value != "yes" {
		t.Errorf("yes = %q", apps[0].Spec.Env[0].Value)
	}

	tests := []struct{ data, field, msg string }{
		{"  replicas: \"3\"\n", "spec.replicas", `want an integer, got a string "3"`},
		{"  replicas: 1.5\n", "spec.replicas", "want an integer, got 1.5"},
		{"  replicas: 99999999999\n", "spec.replicas", "out of range"},
		{"  replicas: .inf\n", "spec.replicas", "want an integer"},
		{"  ports: http\n", "spec.ports", "want a list, got a string"},
		{"  env: {A: b}\n", "spec.env", "want a list, got an object"},
		{"  env: [{name: A, value: [x]}]\n", "spec.env[0].value", "want a string, got a list"},
		{"  restartBackoff: {initial: 1}\n", "spec.restartBackoff.initial", "want a duration string"},
		{"  restartBackoff: {initial: soon}\n", "spec.restartBackoff.initial", `"soon" is not a duration`},
		{"  livenessProbe: {tcpSocket: {port: 80.5}}\n", "spec.livenessProbe.tcpSocket.port", "want an integer or a string"},
		{"  ports: [~]\n", "spec.ports[0]", "must not be null"},
		{"  nodeSelector: {role: }\n", "spec.nodeSelector[role]", "must not be null"},
		{"  lifecycle: 3\n", "spec.lifecycle", "want an object, got a number"},
	}
	for _, tt := range tests {
		t.Run(tt.field, func(t *testing.T) {
			wantErr(t, decodeErrs(t, "a.yaml", minimal+tt.data), 7, tt.field, tt.msg)
		})
	}
}

func TestDecodeSyntaxErrors(t *testing.T) {
	tests := []struct {
		path, data string
		line       int
		msg        string
	}{
		// go-yaml gives the line of the construct the problem is in.
		{"a.yaml", minimal + "  replicas: [1,\n", 7, "invalid YAML"},
		{"a.yaml", minimal + "---\nkind: App\n\tname: x\n", 8, "invalid YAML: found a tab character"},
		{"a.yaml", minimal + "---\n" + minimal + "  env: [\n  - x: ]\n", 14, "invalid YAML"},
		{"a.yaml", "- a\n- b\n", 1, "want an object, got a list"},
		{"a.json", "{\n  \"kind\": \"App\",\n  \"spec\": {,}\n}", 3, "invalid JSON"},
		{"a.json", "{\n  \"kind\": \"App\"\n", 2, "unexpected end of input"},
		{"a.json", "{}\n{}\n", 2, "more than one value"},
		{"a.json", "[{}, 3]", 1, "want an object, got a number"},
		{"a.json", "\"x\"", 1, "want an object or a list of objects"},
		{"a.toml", "kind = 'App'\nname = \n", 2, "invalid TOML"},
	}
	for _, tt := range tests {
		t.Run(tt.path+tt.msg, func(t *testing.T) {
			list := decodeErrs(t, tt.path, tt.data)
			if list[0].Line != tt.line || !strings.Contains(list[0].Message, tt.msg) {
				t.Errorf("got %v, want line %d containing %q", list, tt.line, tt.msg)
			}
		})
	}
}

func TestDecodeUnsupportedExtension(t *testing.T) {
	list := decodeErrs(t, "a.yaml.bak", minimal)
	wantErr(t, list, 0, "", "unsupported file extension")
	// The extension is matched without regard to case.
	mustDecode(t, "A.YAML", []byte(minimal))
}

func TestDecodeLines(t *testing.T) {
	data := `# comment
apiVersion: proclet.dev/v1alpha1
kind: App
metadata:
  name: web
spec:
  replicas: 2
  command: [./web]
  ports:
    - name: http
      range: "8000-8099"
    - name: bad
      range: "9000-80"
    - name: admin
      port: 9100
---
apiVersion: proclet.dev/v1alpha1
kind: Ap
metadata:
  name: Other
spec:
  command: [./x]
`
	list := decodeErrs(t, "a.yaml", data)
	wantErr(t, list, 13, "spec.ports[1].range", `"9000-80" is not a range (low must be <= high)`)
	wantErr(t, list, 15, "spec.ports[2].port", "a fixed port needs replicas <= 1")
	wantErr(t, list, 18, "kind", `"Ap" is not a supported kind (want App, Job or CronJob)`)
	wantErr(t, list, 20, "metadata.name", "not a DNS-1123 label")
	// A missing required field is placed at its parent.
	list = decodeErrs(t, "a.yaml", "apiVersion: proclet.dev/v1alpha1\nkind: App\nmetadata:\n  name: x\nspec:\n  replicas: 1\n")
	wantErr(t, list, 5, "spec.command", "required")
	// Printed form: FILE:LINE: FIELD: MESSAGE.
	if got := list[0].Error(); got != "a.yaml:5: spec.command: required" {
		t.Errorf("Error() = %q", got)
	}
	// JSON lines.
	list = decodeErrs(t, "a.json", "{\n \"apiVersion\": \"proclet.dev/v1alpha1\",\n \"kind\": \"App\",\n"+
		" \"metadata\": {\"name\": \"a\"},\n \"spec\": {\n  \"command\": [\"a\"],\n  \"replicas\": 50000\n }\n}\n")
	wantErr(t, list, 7, "spec.replicas", "must be <= 10000")
	// TOML lines, through tables, array tables and inline values.
	list = decodeErrs(t, "a.toml", `apiVersion = "proclet.dev/v1alpha1"
kind = "App"
metadata = {name = "a", labels = {"bad key" = "x"}}

[spec]
command = ["a"]
replicas = 2
env = [
  {name = "A", value = "x"},
  {name = "1B", value = "y"},
]

[[spec.ports]]
name = "http"
range = "80-70"

[[spec.ports]]
name = "admin"
port = 9000

[spec.readinessProbe.httpGet]
port = "nope"

[spec.restartBackoff]
initial = "1h"
`)
	wantErr(t, list, 3, "metadata.labels[bad key]", "not a valid key")
	wantErr(t, list, 10, "spec.env[1].name", "not an environment variable name")
	wantErr(t, list, 15, "spec.ports[0].range", "low must be <= high")
	wantErr(t, list, 19, "spec.ports[1].port", "a fixed port needs replicas <= 1")
	wantErr(t, list, 22, "spec.readinessProbe.httpGet.port", `"nope" is not the name of a port`)
	wantErr(t, list, 25, "spec.restartBackoff.initial", "longer than max")
	list = decodeErrs(t, "a.toml", "apiVersion = 'proclet.dev/v1alpha1'\nkind = 'App'\n[metadata]\nname = 'a'\n"+
		"[spec]\ncommand = ['a']\n[spec.restartBackoff]\nmax = '1m'\nenv = []\n")
	wantErr(t, list, 9, "spec.restartBackoff.env", "unknown field")
}

func TestDecodeYAMLAnchorsAndMerge(t *testing.T) {
	data := `apiVersion: proclet.dev/v1alpha1
kind: App
metadata: {name: web}
spec:
  command: [./web]
  readinessProbe: &probe
    httpGet: {path: /healthz, port: http}
    periodSeconds: 5
  livenessProbe:
    <<: *probe
    periodSeconds: 20
  ports: [{name: http, range: 8000-8009}]
`
	apps := mustDecode(t, "a.yaml", []byte(data))
	l := apps[0].Spec.LivenessProbe
	if l.HTTPGet.Path != "/healthz" || l.PeriodSeconds != 20 || apps[0].Spec.ReadinessProbe.PeriodSeconds != 5 {
		t.Errorf("merge: liveness %+v", l)
	}
}

func TestDecodeHostileYAML(t *testing.T) {
	// Billion laughs: the expansion is bounded, never exhausted.
	bomb := "a: &a [x,x,x,x,x,x,x,x,x,x]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b,*b]\n" +
		"d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c,*c]\ne: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d,*d]\nf: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e,*e]\n" +
		"g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f,*f]\nspec: {command: *g}\n"
	list := decodeErrs(t, "a.yaml", bomb)
	if len(list) > maxErrors+1 {
		t.Errorf("%d errors, want at most %d", len(list), maxErrors+1)
	}
	// Deep nesting.
	deep := "spec: {command: " + strings.Repeat("[", 200) + strings.Repeat("]", 200) + "}\n"
	decodeErrs(t, "a.yaml", deep)
	deepJSON := strings.Repeat("[", 100000) + strings.Repeat("]", 100000)
	decodeErrs(t, "a.json", deepJSON)
}

func TestDecodeFileRules(t *testing.T) {
	dupe := minimal + "---\n" + minimal
	list := decodeErrs(t, "a.yaml", dupe)
	wantErr(t, list, 11, "metadata.name", `"web" is already defined in this file (line 4)`)
	if list[0].Reason != ReasonDuplicateName {
		t.Errorf("reason = %s", list[0].Reason)
	}

	cycle := `apiVersion: proclet.dev/v1alpha1
kind: App
metadata: {name: a}
spec:
  command: [./a]
  dependsOn: [{app: b}]
---
apiVersion: proclet.dev/v1alpha1
kind: App
metadata: {name: b}
spec:
  command: [./b]
  dependsOn: [{app: a}]
`
	list = decodeErrs(t, "a.yaml", cycle)
	wantErr(t, list, 6, "spec.dependsOn[0].app", "dependency cycle: a -> b -> a")
}

func TestDecodeErrorCap(t *testing.T) {
	var b strings.Builder
	b.WriteString(minimal)
	for i := range 200 {
		b.WriteString("  bogus" + strings.Repeat("x", i) + ": 1\n")
	}
	list := decodeErrs(t, "a.yaml", b.String())
	if len(list) != maxErrors+1 || !strings.Contains(list[maxErrors].Message, "150 more") {
		t.Errorf("got %d errors, last %v", len(list), list[len(list)-1])
	}
}

func TestDecodeClipsHugeValues(t *testing.T) {
	huge := strings.Repeat("é", 100000)
	key := huge[:1000] // YAML allows at most 1024 characters in a plain key
	list := decodeErrs(t, "a.yaml", minimal+"  stopSignal: "+huge+"\n  nodeSelector: {"+key+": x}\n")
	for _, e := range list {
		if len(e.Message) > maxMessageLen || len(e.Field) > maxFieldLen || !utf8.ValidString(e.Message) || !utf8.ValidString(e.Field) {
			t.Errorf("error not clipped: field %d bytes, message %d bytes", len(e.Field), len(e.Message))
		}
	}
	if len(list) != 2 {
		t.Errorf("got %d errors, want 2", len(list))
	}
}

func TestDecodeConcurrently(t *testing.T) {
	data := readTestdata(t, "full.yaml")
	want := Revision(&mustDecode(t, "full.yaml", data)[0].Spec)
	for i := range 4 {
		t.Run(string(rune('a'+i)), func(t *testing.T) {
			t.Parallel()
			for range 20 {
				apps := mustDecode(t, "full.yaml", data)
				if got := Revision(&apps[0].Spec); got != want {
					t.Errorf("revision %s, want %s", got, want)
				}
				decodeErrs(t, "a.yaml", minimal+"  replicas: -1\n")
			}
		})
	}
}

// A file of many documents is decoded on several cores; its apps and its
// errors still come in the documents' order, and one bad document still
// rejects the whole file.
func TestDecodeManyDocumentsInOrder(t *testing.T) {
	var sb strings.Builder
	bad := map[int]bool{7: true, 150: true, 399: true}
	for i := range 400 {
		name := fmt.Sprintf("app-%d", i)
		if bad[i] {
			name = fmt.Sprintf("Bad_%d", i)
		}
		fmt.Fprintf(&sb, "---\napiVersion: proclet.dev/v1alpha1\nkind: App\nmetadata:\n  name: %s\nspec:\n  command: [x]\n", name)
	}
	apps, err := DecodeFile("many.yaml", []byte(sb.String()))
	var list ErrorList
	if !errors.As(err, &list) || len(apps) != 0 {
		t.Fatalf("apps %d, err %v; want none and an ErrorList", len(apps), err)
	}
	if len(list) != 3 || list[0].Line != 7*7+5 || list[1].Line != 150*7+5 || list[2].Line != 399*7+5 {
		t.Fatalf("errors not in the documents' order: %v", list)
	}
	good := strings.NewReplacer("Bad_", "app-").Replace(sb.String())
	apps, err = DecodeFile("many.yaml", []byte(good))
	if err != nil || len(apps) != 400 {
		t.Fatalf("apps %d, err %v", len(apps), err)
	}
	for i, a := range apps {
		if want := fmt.Sprintf("app-%d", i); a.Metadata.Name != want {
			t.Fatalf("app %d is %s, want %s", i, a.Metadata.Name, want)
		}
	}
}
