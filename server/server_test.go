package server

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"proclet.dev/proclet/apis/v1alpha1"
)

// fakeStatus is a StatusReader over fixed data, with a watch the test
// feeds.
type fakeStatus struct {
	apps      []v1alpha1.App
	jobs      []v1alpha1.Job     // jobs_test.go
	cronJobs  []v1alpha1.CronJob // jobs_test.go
	instances map[string][]v1alpha1.Instance
	ready     bool
	events    []v1alpha1.Event
	files     []v1alpha1.FileStatus
	sourceErr string

	// mu guards subs and lastLimit.
	mu        sync.Mutex
	subs      map[chan v1alpha1.WatchEvent]bool
	lastLimit int
}

func (f *fakeStatus) Apps() []v1alpha1.App {
	out := make([]v1alpha1.App, len(f.apps))
	for i := range f.apps {
		out[i] = *f.apps[i].DeepCopy()
	}
	return out
}

func (f *fakeStatus) App(name string) (v1alpha1.App, bool) {
	for _, a := range f.apps {
		if a.Metadata.Name == name {
			return *a.DeepCopy(), true
		}
	}
	return v1alpha1.App{}, false
}

func (f *fakeStatus) Instances(app string) ([]v1alpha1.Instance, bool) {
	if app == "" {
		var all []v1alpha1.Instance
		for _, name := range f.names() {
			all = append(all, f.instances[name]...)
		}
		return all, true
	}
	insts, ok := f.instances[app]
	return slices.Clone(insts), ok
}

// SharedApps are pointers into the fake's apps: shared, as the
// reconciler's are.
func (f *fakeStatus) SharedApps() []*v1alpha1.App {
	out := make([]*v1alpha1.App, len(f.apps))
	for i := range f.apps {
		out[i] = &f.apps[i]
	}
	return out
}

// SharedInstances is Instances: its structs are copies, and the maps and
// slices in them the fake's own, as the reconciler's are.
func (f *fakeStatus) SharedInstances(app string) ([]v1alpha1.Instance, bool) {
	return f.Instances(app)
}

func (f *fakeStatus) Ready() bool { return f.ready }

// Events filters and limits like the reconciler's ring.
func (f *fakeStatus) Events(app string, limit int) []v1alpha1.Event {
	f.mu.Lock()
	f.lastLimit = limit
	f.mu.Unlock()
	var out []v1alpha1.Event
	for _, e := range f.events {
		if app != "" && e.App != app {
			continue
		}
		if out = append(out, e); limit > 0 && len(out) == limit {
			break
		}
	}
	return out
}

func (f *fakeStatus) Manifests() []v1alpha1.FileStatus { return slices.Clone(f.files) }

func (f *fakeStatus) SourceError() string { return f.sourceErr }

// Watch behaves like the reconciler's: ADDED for what exists, then what
// publish sends; a full subscriber is dropped.
func (f *fakeStatus) Watch(buffer int) (<-chan v1alpha1.WatchEvent, func()) {
	var initial []v1alpha1.WatchEvent
	for _, a := range f.Apps() {
		initial = append(initial, v1alpha1.WatchEvent{Type: v1alpha1.WatchAdded, Kind: "App", Object: a})
	}
	for _, j := range f.Jobs() {
		initial = append(initial, v1alpha1.WatchEvent{Type: v1alpha1.WatchAdded, Kind: v1alpha1.KindJob, Object: j})
	}
	for _, c := range f.CronJobs() {
		initial = append(initial, v1alpha1.WatchEvent{Type: v1alpha1.WatchAdded, Kind: v1alpha1.KindCronJob, Object: c})
	}
	all, _ := f.Instances("")
	for _, i := range all {
		initial = append(initial, v1alpha1.WatchEvent{Type: v1alpha1.WatchAdded, Kind: "Instance", Object: i})
	}
	ch := make(chan v1alpha1.WatchEvent, len(initial)+buffer)
	for _, e := range initial {
		ch <- e
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.subs == nil {
		f.subs = map[chan v1alpha1.WatchEvent]bool{}
	}
	f.subs[ch] = true
	return ch, func() {
		f.mu.Lock()
		defer f.mu.Unlock()
		if f.subs[ch] {
			delete(f.subs, ch)
			close(ch)
		}
	}
}

// publish sends ev to every subscriber, dropping those that are full.
func (f *fakeStatus) publish(ev v1alpha1.WatchEvent) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for ch := range f.subs {
		select {
		case ch <- ev:
		default:
			delete(f.subs, ch)
			close(ch)
		}
	}
}

// dropAll drops every subscriber, as the reconciler drops a slow one.
func (f *fakeStatus) dropAll() {
	f.mu.Lock()
	defer f.mu.Unlock()
	for ch := range f.subs {
		delete(f.subs, ch)
		close(ch)
	}
}

func (f *fakeStatus) subscribers() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.subs)
}

func newFake() *fakeStatus {
	t0 := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	web := v1alpha1.App{APIVersion: v1alpha1.GroupVersion, Kind: v1alpha1.KindApp,
		Metadata: v1alpha1.ObjectMeta{Name: "web", Generation: 2,
			Labels: map[string]string{"team": "core", "app.kubernetes.io/part-of": "shop"}},
		Spec: v1alpha1.AppSpec{Command: []string{"web"}, Env: []v1alpha1.EnvVar{{Name: "DB_PASSWORD", Value: "hunter2"}},
			ReadinessProbe: &v1alpha1.Probe{ProbeHandler: v1alpha1.ProbeHandler{HTTPGet: &v1alpha1.HTTPGetAction{
				Path: "/ready", Port: v1alpha1.FromString("http"),
				HTTPHeaders: []v1alpha1.HTTPHeader{{Name: "Authorization", Value: "Bearer s3cr3t-probe"}}}}},
			Ports: []v1alpha1.PortSpec{{Name: "metrics", Range: "9100-9199"}, {Name: "http", Range: "8000-8099"}}},
		Status: &v1alpha1.AppStatus{Replicas: 2, ReadyReplicas: 1, Revision: "abc", ObservedGeneration: 2,
			Conditions: []v1alpha1.Condition{}, Source: "web.yaml"}}
	worker := v1alpha1.App{APIVersion: v1alpha1.GroupVersion, Kind: v1alpha1.KindApp,
		Metadata: v1alpha1.ObjectMeta{Name: "worker", Generation: 1},
		Spec:     v1alpha1.AppSpec{Command: []string{"worker"}},
		Status:   &v1alpha1.AppStatus{Replicas: 1, ReadyReplicas: 1, Revision: "def", ObservedGeneration: 1, Conditions: []v1alpha1.Condition{}, Source: "worker.yaml"}}
	return &fakeStatus{
		apps: []v1alpha1.App{web, worker},
		instances: map[string][]v1alpha1.Instance{
			"web": {
				{Name: "web-0", App: "web", UID: "u0", Revision: "abc", Phase: v1alpha1.PhaseRunning, PID: 42, Ready: true,
					Ports: map[string]int32{"http": 8000, "metrics": 9100}},
				{Name: "web-1", App: "web", UID: "u1", Revision: "abc", Phase: v1alpha1.PhaseStarting, PID: 43,
					Ports: map[string]int32{"http": 8001, "metrics": 9101}},
			},
			"worker": {{Name: "worker-0", App: "worker", UID: "w0", Revision: "def", Phase: v1alpha1.PhaseRunning, PID: 44, Ready: true}},
		},
		ready: true,
		events: []v1alpha1.Event{
			{Time: t0.Add(3 * time.Second), Type: "Normal", Reason: "Started", Object: "web-1", App: "web", Message: "web-1 started"},
			{Time: t0.Add(2 * time.Second), Type: "Warning", Reason: "Invalid", Object: "bad.yaml", Message: "bad.yaml:3: spec: nope"},
			{Time: t0.Add(1 * time.Second), Type: "Normal", Reason: "Started", Object: "worker-0", App: "worker", Message: "worker-0 started"},
			{Time: t0, Type: "Normal", Reason: "Started", Object: "web-0", App: "web", Message: "web-0 started"},
		},
		files: []v1alpha1.FileStatus{
			{Path: "bad.yaml", Error: &v1alpha1.FileError{File: "bad.yaml", Line: 3, Field: "spec", Reason: v1alpha1.ReasonInvalid, Message: "nope"}},
			{Path: "web.yaml", Objects: []string{"web"}},
		},
	}
}

func get(t *testing.T, h http.Handler, method, path string) *httptest.ResponseRecorder {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(method, path, nil))
	return rec
}

func TestServer_Routes(t *testing.T) {
	s := New(Options{Status: newFake()})
	tests := []struct {
		name       string
		method     string
		path       string
		wantStatus int
		wantIn     []string
		wantNotIn  []string
	}{
		{"healthz", "GET", "/healthz", 200, []string{"ok"}, nil},
		{"readyz", "GET", "/readyz", 200, []string{"ok"}, nil},
		{"apps", "GET", "/api/v1/apps", 200, []string{`"items"`, `"name": "web"`, `"observedGeneration": 2`, `"value": "<redacted>"`, `"name": "Authorization"`}, []string{"hunter2", "s3cr3t-probe"}},
		{"app", "GET", "/api/v1/apps/web", 200, []string{`"kind": "App"`, `"source": "web.yaml"`, `"<redacted>"`, `"name": "Authorization"`},
			[]string{"hunter2", "s3cr3t-probe"}},
		{"app instances", "GET", "/api/v1/apps/web/instances", 200, []string{`"name": "web-0"`, `"pid": 42`, `"ready": true`}, nil},
		{"all instances", "GET", "/api/v1/instances", 200, []string{`"name": "web-0"`, `"name": "worker-0"`, `"ports": {}`, `"listening": []`}, nil},
		{"unknown app", "GET", "/api/v1/apps/nope", 404, []string{`"code": "NotFound"`, `app \"nope\" not found`}, nil},
		{"unknown app instances", "GET", "/api/v1/apps/nope/instances", 404, []string{`"NotFound"`}, nil},
		{"bad name", "GET", "/api/v1/apps/Not_A_Name", 400, []string{`"BadRequest"`}, nil},
		{"unknown path", "GET", "/api/v1/nope", 404, []string{`"NotFound"`}, nil},
		{"post", "POST", "/api/v1/apps", 405, []string{`"MethodNotAllowed"`}, nil},
		{"delete", "DELETE", "/api/v1/apps/web", 405, []string{`"MethodNotAllowed"`}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := get(t, s, tt.method, tt.path)
			if rec.Code != tt.wantStatus {
				t.Fatalf("status %d, want %d; body %s", rec.Code, tt.wantStatus, rec.Body)
			}
			body := rec.Body.String()
			for _, w := range tt.wantIn {
				if !strings.Contains(body, w) {
					t.Errorf("body lacks %s:\n%s", w, body)
				}
			}
			for _, w := range tt.wantNotIn {
				if strings.Contains(body, w) {
					t.Errorf("body has %s:\n%s", w, body)
				}
			}
			if strings.HasPrefix(tt.path, "/api/") && rec.Header().Get("Content-Type") != "application/json" {
				t.Errorf("Content-Type %q", rec.Header().Get("Content-Type"))
			}
			if tt.wantStatus == 405 && rec.Header().Get("Allow") == "" {
				t.Error("405 without Allow")
			}
		})
	}
}

func TestServer_ReadyzBeforeFirstReconcile(t *testing.T) {
	f := newFake()
	f.ready = false
	if rec := get(t, New(Options{Status: f}), "GET", "/readyz"); rec.Code != http.StatusServiceUnavailable {
		t.Fatalf("readyz %d, want 503", rec.Code)
	}
}

func TestServer_EmptyListsAreArrays(t *testing.T) {
	s := New(Options{Status: &fakeStatus{instances: map[string][]v1alpha1.Instance{}}})
	for _, p := range []string{"/api/v1/apps", "/api/v1/instances"} {
		var body struct {
			Items json.RawMessage `json:"items"`
		}
		rec := get(t, s, "GET", p)
		if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
			t.Fatal(err)
		}
		if string(body.Items) != "[]" {
			t.Errorf("%s items %s, want []", p, body.Items)
		}
	}
}

func TestServer_APIHeaders(t *testing.T) {
	rec := get(t, New(Options{Status: newFake()}), "GET", "/api/v1/apps")
	if rec.Header().Get("X-Content-Type-Options") != "nosniff" || rec.Header().Get("Cache-Control") != "no-store" {
		t.Errorf("headers %v", rec.Header())
	}
}
