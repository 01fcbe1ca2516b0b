package v1alpha1

import (
	"encoding/json"
	"reflect"
	"regexp"
	"testing"
	"time"
)

// goldenSpecs are fixed specs whose revisions are pinned below. Changing a
// pinned hash restarts every app of every user on upgrade: do not update
// these to make a test pass; make the new code hash as the old one did.
func goldenSpecs(t *testing.T) map[string]*AppSpec {
	full := mustDecode(t, "full.yaml", []byte(goldenFullYAML))[0].Spec
	return map[string]*AppSpec{
		"minimal": {Command: []string{"./web"}},
		"full":    &full,
		"probes": {
			Command: []string{"/usr/bin/python3", "-m", "http.server", "$(PORT)"},
			Env:     []EnvVar{{Name: "A", Value: "1"}, {Name: "B", Value: ""}},
			Ports:   []PortSpec{{Name: "http", Range: "8000-8009"}},
			ReadinessProbe: &Probe{
				ProbeHandler:  ProbeHandler{HTTPGet: &HTTPGetAction{Port: FromString("http")}},
				PeriodSeconds: 2,
			},
			StopSignal:                    "SIGINT",
			TerminationGracePeriodSeconds: ptr(int64(5)),
		},
	}
}

var goldenRevisions = map[string]string{
	"minimal": "1918a2cce8",
	"full":    "4a5ec9b8f4",
	"probes":  "50478857a2",
}

// goldenFullYAML is a copy of testdata/full.yaml, frozen here.
const goldenFullYAML = `# An example with every field set.
apiVersion: proclet.dev/v1alpha1
kind: App
metadata:
  name: web
  labels: {team: storefront}
  annotations: {}
spec:
  replicas: 3
  command: ["./bin/web", "--listen", ":$(PORT)"]
  workingDir: /srv/web
  user: www-data
  env:
    - name: MODE
      value: production
    - name: GREETING
      value: "hello from $(PROCLET_INSTANCE)"
  ports:
    - name: http
      range: "8000-8099"
    - name: admin
      range: "9100-9199"
  restartPolicy: Always
  restartBackoff:
    initial: 1s
    max: 5m
    resetAfter: 10m
  startupProbe:
    exec: {command: ["./bin/web", "check"]}
    failureThreshold: 30
  readinessProbe:
    httpGet: {path: /healthz, port: http}
    periodSeconds: 5
  livenessProbe:
    tcpSocket: {port: http}
  resources:
    limits:
      memory: 256Mi
      cpu: 500m
      openFiles: 4096
  terminationGracePeriodSeconds: 30
  stopSignal: SIGTERM
  lifecycle:
    preStop: {exec: {command: ["./bin/web", "drain"]}}
  strategy:
    type: RollingUpdate
    rollingUpdate: {maxSurge: 1, maxUnavailable: 0}
  minReadySeconds: 0
  progressDeadlineSeconds: 600
  logs:
    maxSize: 10Mi
    maxFiles: 5
  dependsOn:
    - app: db
      condition: Ready
  nodeSelector: {role: web}
`

func TestRevisionGolden(t *testing.T) {
	hex10 := regexp.MustCompile(`^[0-9a-f]{10}$`)
	for name, spec := range goldenSpecs(t) {
		got := Revision(spec)
		if !hex10.MatchString(got) {
			t.Errorf("%s: revision %q is not 10 hex characters", name, got)
		}
		if got != goldenRevisions[name] {
			t.Errorf("%s: revision %s, pinned %s", name, got, goldenRevisions[name])
		}
	}
}

// specV2 is AppSpec as a later release might have it: new optional fields,
// unset.
type specV2 struct {
	AppSpec
	Priority  int32             `json:"priority,omitempty"`
	Sandbox   *bool             `json:"sandbox,omitempty"`
	Tags      []string          `json:"tags,omitempty"`
	Sysctls   map[string]string `json:"sysctls,omitempty"`
	Cgroup    cgroupSpec        `json:"cgroup"` // not omitempty: {} must vanish too
	StdinOpen bool              `json:"stdinOpen"`
}

type cgroupSpec struct {
	Weight int32  `json:"weight"`
	Path   string `json:"path,omitempty"`
}

func TestRevisionStableWhenFieldsAreAdded(t *testing.T) {
	for name, spec := range goldenSpecs(t) {
		v2 := specV2{AppSpec: *revisionView(spec)}
		if got, want := canonicalHash(v2), Revision(spec); got != want {
			t.Errorf("%s: with new unset fields %s, want %s", name, got, want)
		}
		// A new field deep inside (a probe, an env entry) must not matter
		// either: add empty keys to every object of the JSON form.
		var m any
		raw, _ := json.Marshal(revisionView(spec))
		if err := json.Unmarshal(raw, &m); err != nil {
			t.Fatal(err)
		}
		addEmptyKeys(m)
		if got, want := canonicalHash(m), Revision(spec); got != want {
			t.Errorf("%s: with new empty nested keys %s, want %s", name, got, want)
		}
		// But a set field is seen.
		v2.Priority = 1
		if canonicalHash(v2) == Revision(spec) {
			t.Errorf("%s: a set new field did not change the revision", name)
		}
	}
}

func addEmptyKeys(v any) {
	switch v := v.(type) {
	case map[string]any:
		for _, e := range v {
			addEmptyKeys(e)
		}
		v["zzNewString"], v["zzNewNumber"], v["zzNewBool"] = "", 0, false
		v["zzNewNull"], v["zzNewObject"], v["zzNewList"] = nil, map[string]any{"x": ""}, []any{}
	case []any:
		for _, e := range v {
			addEmptyKeys(e)
		}
	}
}

func TestRevisionFields(t *testing.T) {
	base := func() *AppSpec {
		a := validApp()
		return &a.Spec
	}
	want := Revision(base())

	same := map[string]func(s *AppSpec){
		"replicas":                func(s *AppSpec) { s.Replicas = ptr(int32(7)) },
		"strategy":                func(s *AppSpec) { s.Strategy = Strategy{Type: Recreate} },
		"minReadySeconds":         func(s *AppSpec) { s.MinReadySeconds = 30 },
		"progressDeadlineSeconds": func(s *AppSpec) { s.ProgressDeadlineSeconds = ptr(int32(60)) },
		"dependsOn":               func(s *AppSpec) { s.DependsOn = nil },
		"nodeSelector":            func(s *AppSpec) { s.NodeSelector = map[string]string{"x": "y"} },
		"default made explicit":   func(s *AppSpec) { s.RestartBackoff = nil; s.StopSignal = "" },
		"env empty value":         func(s *AppSpec) { s.Env[1].Value = "" },
	}
	for name, mutate := range same {
		s := base()
		mutate(s)
		if got := Revision(s); got != want {
			t.Errorf("%s changed the revision: %s -> %s", name, want, got)
		}
	}

	changed := map[string]func(s *AppSpec){
		"command":         func(s *AppSpec) { s.Command = append(s.Command, "-v") },
		"empty arg":       func(s *AppSpec) { s.Command = s.Command[:len(s.Command)-1] },
		"workingDir":      func(s *AppSpec) { s.WorkingDir = "/srv" },
		"user":            func(s *AppSpec) { s.User = "nobody" },
		"env":             func(s *AppSpec) { s.Env[0].Value = "dev" },
		"ports":           func(s *AppSpec) { s.Ports[0].Range = "8000-8098" },
		"restartPolicy":   func(s *AppSpec) { s.RestartPolicy = RestartNever },
		"restartBackoff":  func(s *AppSpec) { s.RestartBackoff.Max = &Duration{time.Minute} },
		"probe":           func(s *AppSpec) { s.LivenessProbe.PeriodSeconds = 11 },
		"probe removed":   func(s *AppSpec) { s.StartupProbe = nil },
		"resources":       func(s *AppSpec) { s.Resources.Limits.Memory = "512Mi" },
		"grace":           func(s *AppSpec) { s.TerminationGracePeriodSeconds = ptr(int64(0)) },
		"stopSignal":      func(s *AppSpec) { s.StopSignal = "SIGINT" },
		"lifecycle":       func(s *AppSpec) { s.Lifecycle = nil },
		"logs":            func(s *AppSpec) { s.Logs.MaxFiles = ptr(int32(2)) },
		"header value":    func(s *AppSpec) { s.ReadinessProbe.HTTPGet.HTTPHeaders[0].Value = "2" },
		"openFiles unset": func(s *AppSpec) { s.Resources.Limits.OpenFiles = nil },
	}
	for name, mutate := range changed {
		s := base()
		mutate(s)
		if got := Revision(s); got == want {
			t.Errorf("%s did not change the revision", name)
		}
	}
}

func TestRevisionDoesNotModifyTheSpec(t *testing.T) {
	s := &AppSpec{Command: []string{"x"}, Replicas: ptr(int32(4)), NodeSelector: map[string]string{"a": "b"}}
	before := s.DeepCopy()
	Revision(s)
	if !reflect.DeepEqual(s, before) {
		t.Errorf("Revision modified its argument: %+v", s)
	}
	if Revision(nil) != Revision(&AppSpec{}) {
		t.Errorf("Revision(nil) differs from the empty spec")
	}
}
