package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"proclet.dev/proclet/apis/v1alpha1"
	"proclet.dev/proclet/server/client"
	"proclet.dev/proclet/watchers"
)

// cliFakeAPI is a stand-in daemon: fixed apps and instances, a log per
// instance, and a follow that streams until the client leaves.
type cliFakeAPI struct {
	apps      []v1alpha1.App
	jobs      []v1alpha1.Job     // get_jobs_test.go
	cronJobs  []v1alpha1.CronJob // get_jobs_test.go
	events    []v1alpha1.Event   // newest first, as the daemon answers
	instances []v1alpha1.Instance
	logs      map[string]string // instance -> output
	manifests []v1alpha1.FileStatus
	version   string   // daemon.version of /api/v1/system
	watch     []string // the messages of /api/v1/watch, then a close 1001
	follow    bool     // keep log answers open until the client goes
	node      string   // the name GET /api/v1/node gives; "": 404, as a daemon without it
	targets   []client.TargetGroup
	auth      string     // the last Authorization header
	mu        sync.Mutex // guards auth
}

func (f *cliFakeAPI) start(t *testing.T) string {
	t.Helper()
	writeJSON := func(w http.ResponseWriter, status int, v any) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(v)
	}
	notFound := func(w http.ResponseWriter, msg string) {
		writeJSON(w, http.StatusNotFound, map[string]any{"error": map[string]string{"code": "NotFound", "message": msg}})
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		f.auth = r.Header.Get("Authorization")
		f.mu.Unlock()
		parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
		switch {
		case r.URL.Path == "/api/v1/apps":
			writeJSON(w, 200, map[string]any{"items": f.apps})
		case r.URL.Path == "/api/v1/instances":
			writeJSON(w, 200, map[string]any{"items": f.instances})
		case r.URL.Path == "/api/v1/manifests":
			writeJSON(w, 200, map[string]any{"items": f.manifests})
		case r.URL.Path == "/api/v1/watch":
			c, err := websocket.Accept(w, r, nil)
			if err != nil {
				return
			}
			defer c.CloseNow()
			for _, m := range f.watch {
				if c.Write(r.Context(), websocket.MessageText, []byte(m)) != nil {
					return
				}
			}
			_ = c.Close(websocket.StatusGoingAway, "the daemon is stopping")
		case r.URL.Path == "/api/v1/node" && f.node != "":
			writeJSON(w, 200, map[string]any{"name": f.node, "labels": map[string]string{"ring": "main"}})
		case r.URL.Path == "/api/v1/targets":
			writeJSON(w, 200, f.targets)
		case r.URL.Path == "/api/v1/system":
			writeJSON(w, 200, map[string]any{"daemon": map[string]any{"version": f.version}})
		case r.URL.Path == "/api/v1/events":
			out := []v1alpha1.Event{}
			for _, e := range f.events {
				if app := r.URL.Query().Get("app"); app == "" || e.App == app {
					out = append(out, e)
				}
			}
			writeJSON(w, 200, map[string]any{"items": out})
		case len(parts) >= 3 && (parts[2] == "jobs" || parts[2] == "cronjobs"):
			f.serveJobs(w, parts, writeJSON, notFound)
		case len(parts) >= 4 && parts[2] == "apps":
			app := parts[3]
			i := slices.IndexFunc(f.apps, func(a v1alpha1.App) bool { return a.Metadata.Name == app })
			if i < 0 && len(parts) == 7 && f.hasJob(app) {
				i = -2 // a job's instance's log, by the app path
			}
			if i == -1 {
				notFound(w, fmt.Sprintf("app %q not found", app))
				return
			}
			switch {
			case len(parts) == 4:
				writeJSON(w, 200, f.apps[i])
			case len(parts) == 5 && parts[4] == "instances":
				var out []v1alpha1.Instance
				for _, in := range f.instances {
					if in.App == app {
						out = append(out, in)
					}
				}
				writeJSON(w, 200, map[string]any{"items": out})
			case len(parts) == 7 && parts[6] == "logs":
				text, ok := f.logs[parts[5]]
				if !ok {
					notFound(w, fmt.Sprintf("instance %q not found", parts[5]))
					return
				}
				w.Header().Set("Content-Type", "text/plain")
				_, _ = io.WriteString(w, text)
				if f.follow {
					http.NewResponseController(w).Flush()
					<-r.Context().Done()
				}
			default:
				notFound(w, "no such path")
			}
		default:
			notFound(w, "no such path")
		}
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

func cliApp(name string, replicas int32, ready int32) v1alpha1.App {
	a := v1alpha1.App{APIVersion: v1alpha1.GroupVersion, Kind: v1alpha1.KindApp,
		Metadata: v1alpha1.ObjectMeta{Name: name, Generation: 1},
		Spec:     v1alpha1.AppSpec{Replicas: &replicas, Command: []string{"sleep", "1000"}}}
	v1alpha1.Default(&a)
	a.Status = &v1alpha1.AppStatus{Replicas: replicas, ReadyReplicas: ready, UpdatedReplicas: replicas,
		AvailableReplicas: ready, Revision: v1alpha1.Revision(&a.Spec), ObservedGeneration: 1, Conditions: []v1alpha1.Condition{}}
	return a
}

func cliInstance(app string, ordinal int, started time.Time) v1alpha1.Instance {
	return v1alpha1.Instance{Name: fmt.Sprintf("%s-%d", app, ordinal), App: app, Phase: v1alpha1.PhaseRunning,
		Ready: true, PID: 1000 + ordinal, StartedAt: &started, Ports: map[string]int32{}, MemoryBytes: 3 << 20}
}

// cliRun runs `proclet CMD ARGS...` and returns its exit code and output.
func cliRun(cmd string, args ...string) (code int, stdout, stderr string) {
	var o, e bytes.Buffer
	code = run(append([]string{cmd}, args...), &o, &e)
	return code, o.String(), e.String()
}

func TestGet(t *testing.T) {
	started := time.Now().Add(-3 * time.Hour)
	api := &cliFakeAPI{
		apps:      []v1alpha1.App{cliApp("web", 2, 1)},
		instances: []v1alpha1.Instance{cliInstance("web", 0, started), cliInstance("web", 1, time.Now())},
	}
	url := api.start(t)
	t.Setenv("PROCLET_API_KEY", "k1")

	code, out, errOut := cliRun("get", "apps", "--server", url)
	want := "NAME   READY   UP-TO-DATE   AVAILABLE   AGE\nweb    1/2     2            1           3h\n"
	if code != 0 || out != want {
		t.Errorf("get apps: code %d, stdout\n%s\nstderr %s\nwant\n%s", code, out, errOut, want)
	}
	api.mu.Lock()
	if api.auth != "Bearer k1" {
		t.Errorf("Authorization = %q", api.auth)
	}
	api.mu.Unlock()

	code, out, _ = cliRun("get", "instances", "web", "-o", "yaml", "--server", url)
	if code != 0 || !strings.HasPrefix(out, "items:\n- app: web\n") || !strings.Contains(out, "name: web-1\n") {
		t.Errorf("get instances -o yaml: code %d\n%s", code, out)
	}
	code, out, _ = cliRun("get", "-o", "json", "--server", url, "app", "web")
	var app v1alpha1.App
	if code != 0 || json.Unmarshal([]byte(out), &app) != nil || app.Metadata.Name != "web" {
		t.Errorf("get app web -o json: code %d\n%s", code, out)
	}

	code, _, errOut = cliRun("get", "apps", "nope", "--server", url)
	if code != 1 || errOut != "proclet get: app \"nope\" not found\n" {
		t.Errorf("get apps nope: code %d, stderr %q", code, errOut)
	}
	code, _, errOut = cliRun("get", "pods", "--server", url)
	if code != 2 || !strings.Contains(errOut, `unknown kind "pods"`) {
		t.Errorf("get pods: code %d, stderr %q", code, errOut)
	}
	code, _, errOut = cliRun("get", "apps", "-o", "xml", "--server", url)
	if code != 2 || !strings.Contains(errOut, `-o "xml"`) {
		t.Errorf("-o xml: code %d, stderr %q", code, errOut)
	}
}

func TestGet_DaemonNotThere(t *testing.T) {
	dead := httptest.NewServer(http.NotFoundHandler())
	dead.Close()
	t.Setenv("PROCLET_SERVER", dead.URL)
	code, _, errOut := cliRun("get", "apps")
	want := "proclet get: cannot reach proclet at " + dead.URL + ": is the daemon running? (set --server or PROCLET_SERVER)\n"
	if code != 1 || errOut != want {
		t.Errorf("code %d, stderr %q, want %q", code, errOut, want)
	}
}

func TestDescribe_PrintsSections(t *testing.T) {
	api := &cliFakeAPI{apps: []v1alpha1.App{cliApp("web", 1, 1)},
		instances: []v1alpha1.Instance{cliInstance("web", 0, time.Now())}}
	code, out, errOut := cliRun("describe", "web", "--server", api.start(t))
	if code != 0 {
		t.Fatalf("code %d, stderr %s", code, errOut)
	}
	for _, want := range []string{"Name:             web\n", "Command:          sleep 1000\n", "Instances:\n  NAME", "Events:           <none>\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

func TestLogs_AllInstancesPrefixed(t *testing.T) {
	now := time.Now()
	api := &cliFakeAPI{
		apps:      []v1alpha1.App{cliApp("web", 3, 3)},
		instances: []v1alpha1.Instance{cliInstance("web", 0, now), cliInstance("web", 1, now), cliInstance("web", 2, now)},
		logs:      map[string]string{"web-0": "a\nb\n", "web-2": "c"},
	}
	url := api.start(t)
	code, out, errOut := cliRun("logs", "web", "--server", url, "--tail", "5")
	if out != "[web-0] a\n[web-0] b\n[web-2] c\n" {
		t.Errorf("stdout %q", out)
	}
	if code != 1 || !strings.Contains(errOut, "proclet logs: web-1: instance \"web-1\" not found\n") {
		t.Errorf("code %d, stderr %q", code, errOut)
	}
	code, out, _ = cliRun("logs", "web/web-0", "--server", url)
	if code != 0 || out != "a\nb\n" {
		t.Errorf("one instance: code %d, stdout %q", code, out)
	}
}

// cliBuffer is a writer the test reads while the command writes.
type cliBuffer struct {
	mu      sync.Mutex // guards b
	b       bytes.Buffer
	changed chan struct{}
}

func (s *cliBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	select {
	case s.changed <- struct{}{}:
	default:
	}
	return s.b.Write(p)
}

func (s *cliBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestLogs_FollowEndsWhenCancelled(t *testing.T) {
	now := time.Now()
	api := &cliFakeAPI{
		apps:      []v1alpha1.App{cliApp("web", 2, 2)},
		instances: []v1alpha1.Instance{cliInstance("web", 0, now), cliInstance("web", 1, now)},
		logs:      map[string]string{"web-0": "zero\n", "web-1": "one\n"},
		follow:    true,
	}
	c := client.New(api.start(t), "")
	ctx, cancel := context.WithCancel(t.Context())
	out := &cliBuffer{changed: make(chan struct{}, 1)}
	done := make(chan error, 1)
	go func() {
		done <- logs(ctx, c, logsOptions{app: "web", tail: -1, follow: true, stream: "stdout"}, out, io.Discard)
	}()
	deadline := time.NewTimer(10 * time.Second)
	defer deadline.Stop()
	for !(strings.Contains(out.String(), "[web-0] zero\n") && strings.Contains(out.String(), "[web-1] one\n")) {
		select {
		case <-out.changed:
		case <-deadline.C:
			t.Fatalf("never saw both instances: %q", out.String())
		}
	}
	cancel() // what Ctrl-C does
	select {
	case <-done:
	case <-deadline.C:
		t.Fatal("logs -f did not end after cancel")
	}
}

func TestDiff_ExitCodes(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	manifest := func(name string, replicas int) string {
		return fmt.Sprintf("apiVersion: proclet.dev/v1alpha1\nkind: App\nmetadata:\n  name: %s\nspec:\n  replicas: %d\n  command: [sleep, \"1000\"]\n", name, replicas)
	}
	write("web.yaml", manifest("web", 2))
	snap, err := watchers.ReadOnce(dir)
	if err != nil || len(snap.Apps) != 1 {
		t.Fatalf("ReadOnce: %v, %+v", err, snap)
	}
	served := snap.Apps[0].App
	served.Status = &v1alpha1.AppStatus{Revision: v1alpha1.Revision(&served.Spec), Source: "web.yaml"}
	url := (&cliFakeAPI{apps: []v1alpha1.App{served}}).start(t)

	if code, out, errOut := cliRun("diff", dir, "--server", url); code != 0 || out != "" {
		t.Errorf("same: code %d, stdout %q, stderr %q", code, out, errOut)
	}
	write("web.yaml", manifest("web", 4))
	write("db.yaml", manifest("db", 1))
	code, out, _ := cliRun("diff", dir, "--server", url)
	if want := "+ db (new, 1 replica)\n~ web: replicas 2 -> 4 (scale, no restart)\n"; code != 1 || out != want {
		t.Errorf("changed: code %d, stdout %q, want %q", code, out, want)
	}
	write("web.yaml", "apiVersion: proclet.dev/v1alpha1\nkind: App\nmetadata: {name: web}\nspec: {replicas: many}\n")
	code, out, _ = cliRun("diff", dir, "--server", url)
	if code != 2 || !strings.HasPrefix(out, "! web.yaml:") || !strings.Contains(out, "= web (kept: web.yaml is invalid") {
		t.Errorf("invalid: code %d, stdout %q", code, out)
	}
	if code, _, errOut := cliRun("diff", filepath.Join(dir, "missing"), "--server", url); code != 2 || errOut == "" {
		t.Errorf("missing dir: code %d, stderr %q", code, errOut)
	}
}
