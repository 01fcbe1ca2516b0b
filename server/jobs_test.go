package server

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"proclet.dev/proclet/apis/v1alpha1"
)

// The fake's Jobs and CronJobs are shallow copies: the slices in them are
// the fake's own, as the reconciler's are shared, so that a handler that
// wrote through them would show in the next answer.

func (f *fakeStatus) Jobs() []v1alpha1.Job { return slices.Clone(f.jobs) }

func (f *fakeStatus) Job(name string) (v1alpha1.Job, bool) {
	for _, j := range f.jobs {
		if j.Metadata.Name == name {
			return j, true
		}
	}
	return v1alpha1.Job{}, false
}

func (f *fakeStatus) CronJobs() []v1alpha1.CronJob { return slices.Clone(f.cronJobs) }

func (f *fakeStatus) CronJob(name string) (v1alpha1.CronJob, bool) {
	for _, c := range f.cronJobs {
		if c.Metadata.Name == name {
			return c, true
		}
	}
	return v1alpha1.CronJob{}, false
}

// names are the apps', jobs' and cronjobs' names, whose instances
// Instances("") lists.
func (f *fakeStatus) names() []string {
	var out []string
	for _, a := range f.apps {
		out = append(out, a.Metadata.Name)
	}
	for _, j := range f.jobs {
		out = append(out, j.Metadata.Name)
	}
	for _, c := range f.cronJobs {
		out = append(out, c.Metadata.Name)
	}
	return out
}

// newJobsFake is newFake with a Job (migrate, its first run complete), a
// CronJob (report, a run active) and their instances and events; web has
// an init step with a secret. Apps returns the apps only, as the
// reconciler's does.
func newJobsFake() *fakeStatus {
	f := newFake()
	t0 := time.Date(2025, 1, 2, 3, 0, 0, 0, time.UTC)
	t1 := t0.Add(42 * time.Second)
	f.apps[0].Spec.InitCommands = []v1alpha1.InitCommand{{Name: "seed", Command: []string{"seed"},
		Env: []v1alpha1.EnvVar{{Name: "SEED_TOKEN", Value: "init-s3cr3t"}}}}
	three := int32(3)
	f.jobs = []v1alpha1.Job{{APIVersion: v1alpha1.GroupVersion, Kind: v1alpha1.KindJob,
		Metadata: v1alpha1.ObjectMeta{Name: "migrate", Generation: 1, Labels: map[string]string{"team": "db"}},
		Spec: v1alpha1.JobSpec{Command: []string{"migrate", "up"}, Completions: &three,
			Env: []v1alpha1.EnvVar{{Name: "DB_URL", Value: "postgres://u:job-s3cr3t@db"},
				{Name: "CA", ValueFrom: &v1alpha1.EnvVarSource{File: "/etc/ca.pem"}}}},
		Status: &v1alpha1.JobStatus{Succeeded: 3, StartTime: &t0, CompletionTime: &t1, Run: 1, Revision: "j1",
			ObservedGeneration: 1, Source: "migrate.yaml",
			Conditions: []v1alpha1.Condition{{Type: v1alpha1.ConditionComplete, Status: v1alpha1.ConditionTrue}},
			Runs: []v1alpha1.JobRun{{Name: "migrate-1", Run: 1, Revision: "j1", StartTime: &t0, CompletionTime: &t1,
				Succeeded: 3, Result: v1alpha1.JobComplete, FinishedAt: &t1}}}}}
	slot := t0.Add(time.Hour)
	f.cronJobs = []v1alpha1.CronJob{{APIVersion: v1alpha1.GroupVersion, Kind: v1alpha1.KindCronJob,
		Metadata: v1alpha1.ObjectMeta{Name: "report", Generation: 1},
		Spec: v1alpha1.CronJobSpec{Schedule: "0 * * * *", TimeZone: "Europe/Paris",
			JobTemplate: v1alpha1.JobTemplateSpec{Spec: v1alpha1.JobSpec{Command: []string{"report"},
				Env: []v1alpha1.EnvVar{{Name: "SMTP_PASSWORD", Value: "cron-s3cr3t"}}}}},
		Status: &v1alpha1.CronJobStatus{Active: []string{"report-29412345"}, LastScheduleTime: &slot, Revision: "c1",
			Source: "report.yaml", Conditions: []v1alpha1.Condition{},
			Runs: []v1alpha1.JobRun{{Name: "report-29412345", Run: 29412345, Revision: "c1", ScheduledTime: &slot, Active: 1}}}}}
	f.instances["migrate"] = []v1alpha1.Instance{
		{Name: "migrate-1-0", App: "migrate", Revision: "j1", Phase: v1alpha1.PhaseSucceeded},
		{Name: "migrate-1-1", App: "migrate", Revision: "j1", Phase: v1alpha1.PhaseSucceeded},
	}
	f.instances["report"] = []v1alpha1.Instance{{Name: "report-29412345-0", App: "report", Revision: "c1",
		Phase: v1alpha1.PhaseRunning, PID: 77}}
	f.events = append([]v1alpha1.Event{{Time: t1, Type: "Normal", Reason: "Completed", Object: "migrate-1", App: "migrate",
		Message: "run 1 of migrate completed"}}, f.events...)
	return f
}

func TestServer_JobRoutes(t *testing.T) {
	f := newJobsFake()
	s := New(Options{Status: f})
	secrets := []string{"job-s3cr3t", "cron-s3cr3t", "init-s3cr3t", "hunter2"}
	tests := []struct {
		path       string
		wantStatus int
		wantIn     []string
		wantNotIn  []string
	}{
		{"/api/v1/jobs", 200, []string{`"items"`, `"kind": "Job"`, `"name": "migrate"`, `"value": "<redacted>"`,
			`"file": "/etc/ca.pem"`, `"name": "migrate-1"`, `"result": "Complete"`, `"succeeded": 3`}, secrets},
		{"/api/v1/jobs/migrate", 200, []string{`"kind": "Job"`, `"name": "DB_URL"`, `"<redacted>"`, `"run": 1`}, secrets},
		{"/api/v1/jobs/report", 404, []string{`"code": "NotFound"`, `job \"report\" not found`}, nil},
		{"/api/v1/jobs/nope", 404, []string{`job \"nope\" not found`}, nil},
		{"/api/v1/jobs/Not_A_Name", 400, []string{`"BadRequest"`}, nil},
		{"/api/v1/jobs/migrate/instances", 200, []string{`"name": "migrate-1-0"`, `"name": "migrate-1-1"`, `"ports": {}`},
			[]string{"web-0", "report-"}},
		{"/api/v1/jobs/web/instances", 404, []string{`job \"web\" not found`}, nil},
		{"/api/v1/cronjobs", 200, []string{`"kind": "CronJob"`, `"schedule": "0 * * * *"`, `"name": "SMTP_PASSWORD"`,
			`"<redacted>"`, `"active": [`, `"report-29412345"`}, secrets},
		{"/api/v1/cronjobs/report", 200, []string{`"timeZone": "Europe/Paris"`, `"<redacted>"`}, secrets},
		{"/api/v1/cronjobs/migrate", 404, []string{`cronjob \"migrate\" not found`}, nil},
		{"/api/v1/cronjobs/report/instances", 200, []string{`"name": "report-29412345-0"`, `"pid": 77`}, []string{"migrate-"}},
		{"/api/v1/cronjobs/nope/instances", 404, []string{`cronjob \"nope\" not found`}, nil},
		// Apps are of kind App only; an app's init steps are redacted too.
		{"/api/v1/apps", 200, []string{`"name": "SEED_TOKEN"`}, append([]string{`"migrate"`, `"report"`}, secrets...)},
		{"/api/v1/apps/migrate", 404, []string{`app \"migrate\" not found`}, nil},
		{"/api/v1/apps/web", 200, []string{`"initCommands"`, `"name": "SEED_TOKEN"`}, secrets},
		// Every instance, the jobs' included; the events of a job by its name.
		{"/api/v1/instances", 200, []string{`"migrate-1-0"`, `"report-29412345-0"`, `"web-0"`}, nil},
		{"/api/v1/events?app=migrate", 200, []string{`"run 1 of migrate completed"`}, []string{"web-0 started"}},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			rec := get(t, s, "GET", tt.path)
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
			if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type %q", ct)
			}
		})
	}
	// Redaction replaced the shared slices, never wrote through them.
	if f.jobs[0].Spec.Env[0].Value != "postgres://u:job-s3cr3t@db" ||
		f.cronJobs[0].Spec.JobTemplate.Spec.Env[0].Value != "cron-s3cr3t" ||
		f.apps[0].Spec.InitCommands[0].Env[0].Value != "init-s3cr3t" {
		t.Errorf("an answer redacted the reader's state: %+v %+v", f.jobs[0].Spec.Env, f.apps[0].Spec.InitCommands)
	}
}

func TestServer_JobListsEmptyAreArrays(t *testing.T) {
	s := New(Options{Status: &fakeStatus{instances: map[string][]v1alpha1.Instance{}}})
	for _, p := range []string{"/api/v1/jobs", "/api/v1/cronjobs"} {
		var body struct {
			Items json.RawMessage `json:"items"`
		}
		getJSON(t, s, p, &body)
		if string(body.Items) != "[]" {
			t.Errorf("%s items %s, want []", p, body.Items)
		}
	}
}

// The reader's Apps never returns a carried Job or CronJob; should one
// slip through, the apps endpoints still do not show it.
func TestServer_AppsEndpointsShowKindAppOnly(t *testing.T) {
	f := newJobsFake()
	carrier := f.jobs[0].Carrier()
	f.apps = append(f.apps, carrier)
	s := New(Options{Status: f})
	var l struct{ Items []v1alpha1.App }
	getJSON(t, s, "/api/v1/apps", &l)
	for _, a := range l.Items {
		if a.Metadata.Name == "migrate" || a.Kind != v1alpha1.KindApp {
			t.Errorf("/api/v1/apps lists %s %s", a.Kind, a.Metadata.Name)
		}
	}
	if rec := get(t, s, "GET", "/api/v1/apps/migrate"); rec.Code != http.StatusNotFound {
		t.Errorf("/api/v1/apps/migrate: %d %s", rec.Code, rec.Body)
	}
}

// A job's instance's log is read by the job's path as by the app path:
// the same handler, the same file.
func TestServer_JobInstanceLogs(t *testing.T) {
	dir := t.TempDir()
	logPath := func(app, inst, stream string) string { return filepath.Join(dir, app, inst+"."+stream+".log") }
	if err := os.MkdirAll(filepath.Join(dir, "migrate"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(logPath("migrate", "migrate-1-0", "stdout"), []byte("applied 12 migrations\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	s := New(Options{Status: newJobsFake(), LogPath: logPath})
	for _, p := range []string{"/api/v1/jobs/migrate/instances/migrate-1-0/logs", "/api/v1/apps/migrate/instances/migrate-1-0/logs"} {
		rec := get(t, s, "GET", p)
		if rec.Code != http.StatusOK || rec.Body.String() != "applied 12 migrations\n" {
			t.Errorf("GET %s: %d %q", p, rec.Code, rec.Body)
		}
	}
	rec := get(t, s, "GET", "/api/v1/cronjobs/report/instances/report-1-0/logs")
	if rec.Code != http.StatusNotFound || !strings.Contains(rec.Body.String(), `instance \"report-1-0\" of app \"report\" not found`) {
		t.Errorf("an unknown cronjob instance's log: %d %s", rec.Code, rec.Body)
	}
}

// The watch sends Jobs and CronJobs with their env redacted, values and
// pointers alike.
func TestWatch_JobKindsRedacted(t *testing.T) {
	fake := newJobsFake()
	srv := httptest.NewServer(New(Options{Status: fake}))
	t.Cleanup(srv.Close)
	wf := &watchFixture{fake: fake, srv: srv}
	c := wf.dial(t, nil)
	var got []string
	for range 2 + 1 + 1 + 6 { // apps, job, cronjob, instances
		m := readMsg(t, c)
		got = append(got, m.Kind+"/"+m.name(t))
	}
	if !slices.Contains(got, "Job/migrate") || !slices.Contains(got, "CronJob/report") {
		t.Fatalf("initial events %v lack the job and the cronjob", got)
	}
	j, cj := fake.jobs[0], fake.cronJobs[0]
	fake.publish(v1alpha1.WatchEvent{Type: v1alpha1.WatchModified, Kind: v1alpha1.KindJob, Object: &j})
	fake.publish(v1alpha1.WatchEvent{Type: v1alpha1.WatchModified, Kind: v1alpha1.KindCronJob, Object: cj})
	for _, kind := range []string{v1alpha1.KindJob, v1alpha1.KindCronJob} {
		m := readMsg(t, c)
		if m.Kind != kind || m.Type != v1alpha1.WatchModified || !strings.Contains(string(m.Object), `"value":"<redacted>"`) ||
			strings.Contains(string(m.Object), "job-s3cr3t") || strings.Contains(string(m.Object), "cron-s3cr3t") {
			t.Errorf("%s event: %s %s %s", kind, m.Type, m.Kind, m.Object)
		}
	}
}
