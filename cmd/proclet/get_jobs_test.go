package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"proclet.dev/proclet/apis/v1alpha1"
)

// serveJobs answers /api/v1/jobs[/NAME[/instances]] and the cronjobs'
// (parts is the path split at slashes).
func (f *cliFakeAPI) serveJobs(w http.ResponseWriter, parts []string, writeJSON func(http.ResponseWriter, int, any),
	notFound func(http.ResponseWriter, string)) {
	kind, noun := parts[2], strings.TrimSuffix(parts[2], "s")
	var objs []any
	var names []string
	if kind == "jobs" {
		for _, j := range f.jobs {
			objs, names = append(objs, j), append(names, j.Metadata.Name)
		}
	} else {
		for _, c := range f.cronJobs {
			objs, names = append(objs, c), append(names, c.Metadata.Name)
		}
	}
	if len(parts) == 3 {
		writeJSON(w, 200, map[string]any{"items": append([]any{}, objs...)})
		return
	}
	i := slices.Index(names, parts[3])
	switch {
	case i < 0:
		notFound(w, fmt.Sprintf("%s %q not found", noun, parts[3]))
	case len(parts) == 4:
		writeJSON(w, 200, objs[i])
	case len(parts) == 5 && parts[4] == "instances":
		out := []v1alpha1.Instance{}
		for _, in := range f.instances {
			if in.App == parts[3] {
				out = append(out, in)
			}
		}
		writeJSON(w, 200, map[string]any{"items": out})
	default:
		notFound(w, "no such path")
	}
}

// cliJobs: migrate completed its one run (3/3) an hour ago, report is a
// CronJob with a run active; each has its instances and an event.
func cliJobs(api *cliFakeAPI) {
	now := time.Now()
	at := func(d time.Duration) *time.Time { t := now.Add(-d).Truncate(time.Second); return &t }
	three := int32(3)
	api.jobs = []v1alpha1.Job{{APIVersion: v1alpha1.GroupVersion, Kind: v1alpha1.KindJob,
		Metadata: v1alpha1.ObjectMeta{Name: "migrate", Generation: 1},
		Spec: v1alpha1.JobSpec{Command: []string{"migrate", "up"}, Completions: &three,
			Env: []v1alpha1.EnvVar{{Name: "DB_URL", Value: "<redacted>"}}},
		Status: &v1alpha1.JobStatus{Succeeded: 3, StartTime: at(time.Hour), CompletionTime: at(time.Hour - 42*time.Second),
			Run: 1, Revision: "j1", ObservedGeneration: 1, Source: "migrate.yaml",
			Conditions: []v1alpha1.Condition{{Type: v1alpha1.ConditionComplete, Status: v1alpha1.ConditionTrue}},
			Runs: []v1alpha1.JobRun{{Name: "migrate-1", Run: 1, Succeeded: 3, Result: v1alpha1.JobComplete,
				StartTime: at(time.Hour), CompletionTime: at(time.Hour - 42*time.Second)}}}}}
	api.cronJobs = []v1alpha1.CronJob{{APIVersion: v1alpha1.GroupVersion, Kind: v1alpha1.KindCronJob,
		Metadata: v1alpha1.ObjectMeta{Name: "report", Generation: 1},
		Spec: v1alpha1.CronJobSpec{Schedule: "*/5 * * * *",
			JobTemplate: v1alpha1.JobTemplateSpec{Spec: v1alpha1.JobSpec{Command: []string{"report"}}}},
		Status: &v1alpha1.CronJobStatus{Active: []string{"report-100"}, LastScheduleTime: at(2 * time.Minute),
			NextScheduleTime: at(-30*time.Minute - 30*time.Second), ObservedGeneration: 1,
			Runs: []v1alpha1.JobRun{{Name: "report-100", Run: 100, Active: 1, ScheduledTime: at(2 * time.Minute),
				StartTime: at(2 * time.Minute)}}}}}
	for i := range 3 {
		api.instances = append(api.instances, v1alpha1.Instance{Name: fmt.Sprintf("migrate-1-%d", i), App: "migrate",
			Phase: v1alpha1.PhaseSucceeded, Ports: map[string]int32{}})
	}
	api.instances = append(api.instances, v1alpha1.Instance{Name: "report-100-0", App: "report", Phase: v1alpha1.PhaseRunning,
		PID: 4242, StartedAt: at(2 * time.Minute), Ports: map[string]int32{}})
	api.events = []v1alpha1.Event{{Time: *at(time.Hour - 42*time.Second), Type: "Normal", Reason: "Completed",
		Object: "migrate-1", App: "migrate", Message: "run 1 of migrate completed"}}
}

func TestGetJobs(t *testing.T) {
	api := &cliFakeAPI{apps: []v1alpha1.App{cliApp("web", 1, 1)}}
	cliJobs(api)
	url := api.start(t)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"get", "jobs"}, "NAME      COMPLETIONS   DURATION   AGE   STATUS\nmigrate   3/3           42s        60m   Complete\n"},
		{[]string{"get", "job", "migrate"}, "NAME      COMPLETIONS   DURATION   AGE   STATUS\nmigrate   3/3           42s        60m   Complete\n"},
		{[]string{"get", "cronjobs"}, "NAME     SCHEDULE      TIMEZONE   SUSPEND   ACTIVE   LAST SCHEDULE   NEXT     AGE\n" +
			"report   */5 * * * *   -          False     1        2m              in 30m   2m\n"},
		{[]string{"get", "cj", "-o", "name"}, "cronjob/report\n"},
		{[]string{"get", "jobs", "-o", "name"}, "job/migrate\n"},
	} {
		code, out, errOut := cliRun(tc.args[0], append(tc.args[1:], "--server", url)...)
		if code != 0 || out != tc.want {
			t.Errorf("%q: code %d, stderr %q, stdout\n%s\nwant\n%s", tc.args, code, errOut, out, tc.want)
		}
	}
	code, out, _ := cliRun("get", "cronjob", "report", "-o", "json", "--server", url)
	var cj v1alpha1.CronJob
	if code != 0 || json.Unmarshal([]byte(out), &cj) != nil || cj.Spec.Schedule != "*/5 * * * *" {
		t.Errorf("get cronjob report -o json: code %d\n%s", code, out)
	}
	code, out, _ = cliRun("get", "jobs", "-o", "yaml", "--server", url)
	if code != 0 || !strings.HasPrefix(out, "items:\n- apiVersion: proclet.dev/v1alpha1\n  kind: Job\n") {
		t.Errorf("get jobs -o yaml: code %d\n%s", code, out)
	}
	code, out, _ = cliRun("get", "jobs", "-o", "wide", "--server", url)
	if code != 0 || !strings.Contains(out, "RUN   REVISION   SOURCE         COMMAND") || !strings.Contains(out, "migrate.yaml   migrate up") {
		t.Errorf("get jobs -o wide: code %d\n%s", code, out)
	}
	code, _, errOut := cliRun("get", "job", "nope", "--server", url)
	if code != 1 || errOut != "proclet get: job \"nope\" not found\n" {
		t.Errorf("get job nope: code %d, stderr %q", code, errOut)
	}
	// A job's instances are listed under its name.
	code, out, _ = cliRun("get", "instances", "migrate", "-o", "name", "--server", url)
	if code != 0 || out != "instance/migrate-1-0\ninstance/migrate-1-1\ninstance/migrate-1-2\n" {
		t.Errorf("get instances migrate: code %d\n%s", code, out)
	}
	empty := (&cliFakeAPI{}).start(t)
	if code, out, errOut := cliRun("get", "cronjobs", "--server", empty); code != 0 || out != "" || errOut != "No cronjobs found.\n" {
		t.Errorf("no cronjobs: code %d, stdout %q, stderr %q", code, out, errOut)
	}
}

func TestDescribeJobs(t *testing.T) {
	api := &cliFakeAPI{}
	cliJobs(api)
	url := api.start(t)
	code, out, errOut := cliRun("describe", "job", "migrate", "--server", url)
	if code != 0 {
		t.Fatalf("describe job: code %d, stderr %s", code, errOut)
	}
	for _, want := range []string{"Name:             migrate\n", "Command:          migrate up\n", "Env:              DB_URL (values not shown)\n",
		"Status:           Complete\n", "Duration:         42s\n", "Runs:\n  NAME", "  migrate-1   Complete ", "Instances:\n  NAME",
		"migrate-1-2   Succeeded", "Events:\n", "run 1 of migrate completed"} {
		if !strings.Contains(out, want) {
			t.Errorf("describe job lacks %q:\n%s", want, out)
		}
	}
	code, out, errOut = cliRun("describe", "cj", "report", "--server", url)
	if code != 0 {
		t.Fatalf("describe cronjob: code %d, stderr %s", code, errOut)
	}
	for _, want := range []string{"Schedule:         */5 * * * *\n", "Active runs:      report-100\n", "report-100-0   Running",
		"Events:           <none>\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("describe cronjob lacks %q:\n%s", want, out)
		}
	}
	// describe NAME finds a Job or CronJob of that name too.
	if code, out, _ := cliRun("describe", "report", "--server", url); code != 0 || !strings.Contains(out, "Schedule:         */5 * * * *\n") {
		t.Errorf("describe report: code %d\n%s", code, out)
	}
	code, _, errOut = cliRun("describe", "job", "report", "--server", url)
	if code != 1 || errOut != "proclet describe: job \"report\" not found\n" {
		t.Errorf("describe job report: code %d, stderr %q", code, errOut)
	}
	code, _, errOut = cliRun("describe", "pod", "x", "--server", url)
	if code != 2 || !strings.Contains(errOut, `unknown kind "pod": want app, job or cronjob`) {
		t.Errorf("describe pod x: code %d, stderr %q", code, errOut)
	}
	// describe app NAME is describe NAME.
	api.apps = []v1alpha1.App{cliApp("web", 1, 1)}
	if code, out, _ := cliRun("describe", "app", "web", "--server", url); code != 0 || !strings.Contains(out, "Name:             web\n") {
		t.Errorf("describe app web: code %d\n%s", code, out)
	}
}

func TestCompletion_JobNames(t *testing.T) {
	api := &cliFakeAPI{apps: []v1alpha1.App{cliApp("web", 1, 1)}}
	cliJobs(api)
	url := api.start(t)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"get", "--server", url, "jobs", ""}, "migrate"},
		{[]string{"get", "--server", url, "cj", ""}, "report"},
		{[]string{"get", "--server", url, "instances", ""}, "migrate report web"},
		{[]string{"describe", "--server", url, ""}, "web job cronjob"},
		{[]string{"describe", "--server", url, "cronjob", ""}, "report"},
		{[]string{"logs", "--server", url, "m"}, "migrate migrate-1-0 migrate-1-1 migrate-1-2"},
	} {
		names, directive := complete(t, tc.args...)
		if got := strings.Join(names, " "); got != tc.want || directive != ":4" {
			t.Errorf("%q: %q %s, want %q :4 (no files)", tc.args, got, directive, tc.want)
		}
	}
}

// hasJob reports whether name is one of the fake's Jobs or CronJobs.
func (f *cliFakeAPI) hasJob(name string) bool {
	return slices.ContainsFunc(f.jobs, func(j v1alpha1.Job) bool { return j.Metadata.Name == name }) ||
		slices.ContainsFunc(f.cronJobs, func(c v1alpha1.CronJob) bool { return c.Metadata.Name == name })
}

// `proclet logs JOB` reads the current run's instances, not the older
// runs' kept beside them; an older one is read by its name.
func TestLogs_JobLatestRun(t *testing.T) {
	api := &cliFakeAPI{}
	cliJobs(api)
	api.jobs[0].Status.Run = 2
	api.instances = append(api.instances, v1alpha1.Instance{Name: "migrate-2-0", App: "migrate", Phase: v1alpha1.PhaseSucceeded})
	api.logs = map[string]string{"migrate-1-0": "old run\n", "migrate-1-1": "old\n", "migrate-1-2": "old\n",
		"migrate-2-0": "new run\n", "report-100-0": "sent\n"}
	url := api.start(t)
	code, out, errOut := cliRun("logs", "migrate", "--server", url)
	if code != 0 || out != "[migrate-2-0] new run\n" {
		t.Errorf("logs migrate: code %d, stdout %q, stderr %q", code, out, errOut)
	}
	code, out, _ = cliRun("logs", "report", "--server", url)
	if code != 0 || out != "[report-100-0] sent\n" {
		t.Errorf("logs report: code %d, stdout %q", code, out)
	}
	code, out, _ = cliRun("logs", "migrate/migrate-1-0", "--server", url)
	if code != 0 || out != "old run\n" {
		t.Errorf("logs migrate/migrate-1-0: code %d, stdout %q", code, out)
	}
}

// get jobs -w prints a row when a job's row changes in more than its
// ages, and the last row of a deleted one; other kinds print nothing.
func TestGetJobs_Watch(t *testing.T) {
	api := &cliFakeAPI{}
	cliJobs(api)
	job := api.jobs[0]
	rerun := job
	st := *job.Status
	st.Run, st.Succeeded, st.Active, st.Conditions, st.CompletionTime = 2, 0, 1, nil, nil
	rerun.Status = &st
	api.watch = []string{
		watchMsg(t, "ADDED", "Job", job),
		watchMsg(t, "ADDED", "CronJob", api.cronJobs[0]),
		watchMsg(t, "MODIFIED", "Job", rerun),
		watchMsg(t, "MODIFIED", "Job", rerun),
		watchMsg(t, "DELETED", "Job", rerun),
	}
	url := api.start(t)
	code, out, errOut := cliRun("get", "jobs", "-w", "--server", url)
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if code != 1 || !strings.Contains(errOut, "the daemon closed the watch") || len(lines) != 4 ||
		!strings.HasSuffix(lines[1], "Complete") || !strings.HasSuffix(lines[2], "Running") || !strings.HasPrefix(lines[2], "migrate   0/3") ||
		!strings.HasSuffix(lines[3], "Deleted") {
		t.Errorf("jobs -w: code %d, stderr %q, stdout\n%s", code, errOut, out)
	}
	code, out, _ = cliRun("get", "cronjobs", "-w", "--server", url)
	if code != 1 || strings.Count(out, "\n") != 2 || !strings.Contains(out, "report ") {
		t.Errorf("cronjobs -w: code %d, stdout\n%s", code, out)
	}
}

// get jobs --servers: one table with a NODE column; a host without the
// job has no row.
func TestFleetGetJobs(t *testing.T) {
	withJobs := &cliFakeAPI{node: "alpha"}
	cliJobs(withJobs)
	a, b := hostOf(withJobs.start(t)), hostOf((&cliFakeAPI{node: "beta"}).start(t))
	code, out, errOut := cliRun("get", "jobs", "--servers", a+","+b)
	want := "NODE    NAME      COMPLETIONS   DURATION   AGE   STATUS\nalpha   migrate   3/3           42s        60m   Complete\n"
	if code != 0 || out != want {
		t.Errorf("get jobs --servers: code %d, stderr %q, stdout\n%s\nwant\n%s", code, errOut, out, want)
	}
	code, out, _ = cliRun("get", "cronjob", "report", "-o", "name", "--servers", a+","+b)
	if code != 0 || out != "alpha cronjob/report\n" {
		t.Errorf("get cronjob report --servers -o name: code %d\n%s", code, out)
	}
}
