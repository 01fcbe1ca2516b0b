package server

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"proclet.dev/proclet/apis/v1alpha1"
)

// fakeStatus is a StatusReader over fixed data.
type fakeStatus struct {
	apps      []v1alpha1.App
	instances map[string][]v1alpha1.Instance
	ready     bool
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
		for _, a := range f.apps {
			all = append(all, f.instances[a.Metadata.Name]...)
		}
		return all, true
	}
	insts, ok := f.instances[app]
	return insts, ok
}

func (f *fakeStatus) Ready() bool { return f.ready }

func newFake() *fakeStatus {
	web := v1alpha1.App{APIVersion: v1alpha1.GroupVersion, Kind: v1alpha1.KindApp,
		Metadata: v1alpha1.ObjectMeta{Name: "web", Generation: 2},
		Spec:     v1alpha1.AppSpec{Command: []string{"web"}, Env: []v1alpha1.EnvVar{{Name: "DB_PASSWORD", Value: "hunter2"}}},
		Status: &v1alpha1.AppStatus{Replicas: 1, ReadyReplicas: 1, Revision: "abc", ObservedGeneration: 2,
			Conditions: []v1alpha1.Condition{}, Source: "web.yaml"}}
	return &fakeStatus{
		apps:      []v1alpha1.App{web},
		instances: map[string][]v1alpha1.Instance{"web": {{Name: "web-0", App: "web", UID: "u0", Revision: "abc", Phase: v1alpha1.PhaseRunning, PID: 42, Ready: true}}},
		ready:     true,
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
		{"apps", "GET", "/api/v1/apps", 200, []string{`"items"`, `"name": "web"`, `"observedGeneration": 2`, `"value": "<redacted>"`}, []string{"hunter2"}},
		{"app", "GET", "/api/v1/apps/web", 200, []string{`"kind": "App"`, `"source": "web.yaml"`, `"<redacted>"`}, []string{"hunter2"}},
		{"app instances", "GET", "/api/v1/apps/web/instances", 200, []string{`"name": "web-0"`, `"pid": 42`, `"ready": true`}, nil},
		{"all instances", "GET", "/api/v1/instances", 200, []string{`"name": "web-0"`}, nil},
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
