package server

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"reflect"
	"strings"
	"testing"

	"proclet.dev/proclet/apis/v1alpha1"
)

// getJSON GETs path and decodes a 200 answer into v.
func getJSON(t *testing.T, h http.Handler, path string, v any) {
	t.Helper()
	rec := get(t, h, "GET", path)
	if rec.Code != http.StatusOK {
		t.Fatalf("GET %s: %d %s", path, rec.Code, rec.Body)
	}
	if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
		t.Fatalf("GET %s: Content-Type %q", path, ct)
	}
	if err := json.Unmarshal(rec.Body.Bytes(), v); err != nil {
		t.Fatalf("GET %s: %v\n%s", path, err, rec.Body)
	}
}

// allRoutes is every route the server has (with Metrics set), with
// parameters filled in.
var allRoutes = []string{
	"/healthz", "/readyz", "/metrics",
	"/api/v1/apps", "/api/v1/apps/web", "/api/v1/apps/web/instances",
	"/api/v1/apps/web/instances/web-0/logs", "/api/v1/instances", "/api/v1/manifests",
	"/api/v1/events", "/api/v1/system", "/api/v1/watch", "/api/v1/targets",
	"/api/v1/node",
	"/api/v1/jobs", "/api/v1/jobs/migrate", "/api/v1/jobs/migrate/instances", "/api/v1/jobs/migrate/instances/migrate-1-0/logs",
	"/api/v1/cronjobs", "/api/v1/cronjobs/report", "/api/v1/cronjobs/report/instances",
	"/api/v1/cronjobs/report/instances/report-1-0/logs",
}

func okHandler(body string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte(body)) })
}

func TestServer_MethodNotAllowedEverywhere(t *testing.T) {
	s := New(Options{Status: newFake(), Metrics: okHandler("m")})
	for _, p := range allRoutes {
		for _, m := range []string{"POST", "PUT", "PATCH", "DELETE", "OPTIONS"} {
			rec := get(t, s, m, p)
			if rec.Code != http.StatusMethodNotAllowed || rec.Header().Get("Allow") != "GET, HEAD" {
				t.Errorf("%s %s: %d Allow=%q", m, p, rec.Code, rec.Header().Get("Allow"))
			}
			if !strings.Contains(rec.Body.String(), `"MethodNotAllowed"`) || rec.Header().Get("X-Content-Type-Options") != "nosniff" {
				t.Errorf("%s %s: body %s headers %v", m, p, rec.Body, rec.Header())
			}
		}
	}
}

func TestServer_Manifests(t *testing.T) {
	var body struct {
		Items []map[string]json.RawMessage `json:"items"`
	}
	getJSON(t, New(Options{Status: newFake()}), "/api/v1/manifests", &body)
	if len(body.Items) != 2 {
		t.Fatalf("items %v", body.Items)
	}
	bad, good := body.Items[0], body.Items[1]
	if string(bad["path"]) != `"bad.yaml"` || string(bad["objects"]) != "[]" {
		t.Errorf("bad file %v", bad)
	}
	var fe v1alpha1.FileError
	if err := json.Unmarshal(bad["error"], &fe); err != nil || fe.Line != 3 || fe.Reason != "Invalid" || fe.Message != "nope" {
		t.Errorf("bad file error %s (%v)", bad["error"], err)
	}
	var objs []string
	if err := json.Unmarshal(good["objects"], &objs); err != nil || !reflect.DeepEqual(objs, []string{"web"}) || string(good["error"]) != "null" {
		t.Errorf("good file %v", good)
	}
}

func TestServer_Events(t *testing.T) {
	f := newFake()
	s := New(Options{Status: f})
	type events struct {
		Items []map[string]any `json:"items"`
	}
	var all events
	getJSON(t, s, "/api/v1/events", &all)
	if len(all.Items) != 4 || f.lastLimit != 100 {
		t.Fatalf("%d items with limit %d, want 4 with the default 100", len(all.Items), f.lastLimit)
	}
	first := all.Items[0]
	for _, k := range []string{"time", "type", "reason", "object", "message"} {
		if _, ok := first[k]; !ok {
			t.Errorf("event lacks %q: %v", k, first)
		}
	}
	if first["object"] != "web-1" || first["time"] != "2025-01-02T03:04:08Z" {
		t.Errorf("newest first: %v", first)
	}

	var web events
	getJSON(t, s, "/api/v1/events?app=web&limit=1", &web)
	if len(web.Items) != 1 || web.Items[0]["object"] != "web-1" || f.lastLimit != 1 {
		t.Errorf("app=web&limit=1: %v (limit %d)", web.Items, f.lastLimit)
	}
	var none events
	getJSON(t, s, "/api/v1/events?app=gone", &none)
	if none.Items == nil || len(none.Items) != 0 {
		t.Errorf("app=gone: %v, want []", none.Items)
	}
	getJSON(t, s, "/api/v1/events?limit=1000", &all)

	for _, q := range []string{"limit=0", "limit=-1", "limit=1001", "limit=abc", "limit=", "app=Bad_Name", "app=../etc"} {
		if q == "limit=" {
			continue // empty means the default
		}
		rec := get(t, s, "GET", "/api/v1/events?"+q)
		if rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), `"BadRequest"`) {
			t.Errorf("%s: %d %s", q, rec.Code, rec.Body)
		}
	}
}

func TestServer_System(t *testing.T) {
	f := newFake()
	f.sourceErr = "manifests dir: no such file or directory"
	var sys struct {
		Host struct {
			CPUs   int                `json:"cpus"`
			Load   map[string]float64 `json:"load"`
			Memory map[string]uint64  `json:"memory"`
			Uptime uint64             `json:"uptimeSeconds"`
		} `json:"host"`
		Daemon map[string]any `json:"daemon"`
	}
	getJSON(t, New(Options{Status: f, Version: "v1.2.3"}), "/api/v1/system", &sys)
	if sys.Host.CPUs < 1 || sys.Host.Memory["totalBytes"] == 0 || sys.Host.Memory["availableBytes"] == 0 || sys.Host.Uptime == 0 {
		t.Errorf("host %+v", sys.Host)
	}
	for _, k := range []string{"load1", "load5", "load15"} {
		if _, ok := sys.Host.Load[k]; !ok {
			t.Errorf("load lacks %s: %v", k, sys.Host.Load)
		}
	}
	d := sys.Daemon
	if d["version"] != "v1.2.3" || d["pid"] != float64(os.Getpid()) || d["goroutines"].(float64) < 1 ||
		d["rssBytes"].(float64) <= 0 || d["startedAt"] == "" || d["manifestsError"] != f.sourceErr {
		t.Errorf("daemon %v", d)
	}
}

func TestServer_Targets(t *testing.T) {
	f := newFake()
	// A ready instance of an app without ports is left out.
	f.instances["web"] = append(f.instances["web"], v1alpha1.Instance{Name: "web-2", App: "web", Revision: "xyz", Ready: true,
		Ports: map[string]int32{"http": 8002}})
	s := New(Options{Status: f, AdvertiseHost: "10.0.0.5:9090", Node: &NodeOptions{Name: "host-a"}})
	var groups []targetGroup
	getJSON(t, s, "/api/v1/targets", &groups)
	want := []targetGroup{
		{Targets: []string{"10.0.0.5:9100"}, Labels: map[string]string{"app": "web", "replica": "web-0", "revision": "abc",
			"node": "host-a", "label_team": "core", "label_app_kubernetes_io_part_of": "shop"}},
		{Targets: []string{"10.0.0.5:8002"}, Labels: map[string]string{"app": "web", "replica": "web-2", "revision": "xyz",
			"node": "host-a", "label_team": "core", "label_app_kubernetes_io_part_of": "shop"}},
	}
	if !reflect.DeepEqual(groups, want) {
		t.Errorf("targets\n got %+v\nwant %+v", groups, want)
	}

	var empty json.RawMessage
	getJSON(t, New(Options{Status: &fakeStatus{}}), "/api/v1/targets", &empty)
	if string(empty) != "[]" {
		t.Errorf("no targets: %s, want []", empty)
	}
}

func TestAdvertiseHost(t *testing.T) {
	for in, want := range map[string]string{"": "127.0.0.1", "host.lan": "host.lan", "10.1.2.3:9090": "10.1.2.3",
		"[::1]:9090": "::1", "::1": "::1", ":9090": "127.0.0.1"} {
		if got := advertiseHost(in); got != want {
			t.Errorf("advertiseHost(%q) = %q, want %q", in, got, want)
		}
	}
	if got := promLabel("app.kubernetes.io/name"); got != "label_app_kubernetes_io_name" {
		t.Errorf("promLabel %q", got)
	}
}

func TestServer_CORS(t *testing.T) {
	plain := New(Options{Status: newFake()})
	rec := get(t, plain, "GET", "/api/v1/apps")
	if rec.Header().Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("CORS header without a configured origin: %v", rec.Header())
	}

	s := New(Options{Status: newFake(), CORSOrigin: "https://dash.example", APIKeys: []string{"k"}})
	req := httptest.NewRequest("OPTIONS", "/api/v1/apps", nil)
	req.Header.Set("Origin", "https://dash.example")
	req.Header.Set("Access-Control-Request-Method", "GET")
	pre := httptest.NewRecorder()
	s.ServeHTTP(pre, req)
	h := pre.Header()
	if pre.Code != http.StatusNoContent || h.Get("Access-Control-Allow-Origin") != "https://dash.example" ||
		h.Get("Access-Control-Allow-Methods") != "GET, HEAD" || h.Get("Access-Control-Allow-Headers") != "Authorization, X-API-Key" ||
		h.Get("Vary") != "Origin" {
		t.Errorf("preflight %d %v", pre.Code, h)
	}
	req = httptest.NewRequest("GET", "/api/v1/apps", nil)
	req.Header.Set("X-API-Key", "k")
	rec = httptest.NewRecorder()
	s.ServeHTTP(rec, req)
	if rec.Code != 200 || rec.Header().Get("Access-Control-Allow-Origin") != "https://dash.example" {
		t.Errorf("GET %d %v", rec.Code, rec.Header())
	}
	req = httptest.NewRequest("DELETE", "/api/v1/apps", nil)
	req.Header.Set("X-API-Key", "k")
	rec = httptest.NewRecorder()
	s.ServeHTTP(rec, req)
	if rec.Code != http.StatusMethodNotAllowed || rec.Header().Get("Allow") != "GET, HEAD, OPTIONS" {
		t.Errorf("DELETE with CORS: %d Allow %q", rec.Code, rec.Header().Get("Allow"))
	}
}

func TestServer_SecurityHeadersOnErrors(t *testing.T) {
	s := New(Options{Status: newFake()})
	for _, p := range []string{"/api/v1/nope", "/api/v1/apps/nope", "/nope"} {
		rec := get(t, s, "GET", p)
		if rec.Header().Get("X-Content-Type-Options") != "nosniff" || rec.Header().Get("Cache-Control") != "no-store" {
			t.Errorf("%s: %v", p, rec.Header())
		}
	}
}

// The answers that show instances' CPU and memory ask the runtime for
// fresh samples first (FreshUsage); the others do not make it sample.
func TestServer_FreshUsageBeforeUsageReads(t *testing.T) {
	calls := 0
	s := New(Options{Status: newFake(), Metrics: okHandler("m"), FreshUsage: func() { calls++ }})
	for _, p := range []string{"/metrics", "/api/v1/instances", "/api/v1/apps/web/instances"} {
		calls = 0
		if rec := get(t, s, "GET", p); rec.Code != http.StatusOK || calls != 1 {
			t.Errorf("GET %s: %d, FreshUsage called %d times, want once", p, rec.Code, calls)
		}
	}
	for _, p := range []string{"/api/v1/apps", "/api/v1/apps/web", "/api/v1/events", "/api/v1/system", "/healthz"} {
		calls = 0
		if get(t, s, "GET", p); calls != 0 {
			t.Errorf("GET %s called FreshUsage %d times, want none", p, calls)
		}
	}
}
