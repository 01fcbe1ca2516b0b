package main

import (
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"proclet.dev/proclet/apis/v1alpha1"
)

// TestJobManifestsDecode: every file of a Job or CronJob the model writes
// decodes as that kind with the model's command.
func TestJobManifestsDecode(t *testing.T) {
	f := newJobFleet("/bin/workload", 5, "/tmp/marks")
	for _, j := range f.initial() {
		j.rev = 3
		apps, err := v1alpha1.DecodeFile(j.file, []byte(f.manifest(j)))
		if err != nil && strings.Contains(err.Error(), "is not supported (want App)") {
			t.Skip("this tree's decoder has no kind Job yet")
		}
		if err != nil {
			t.Fatalf("%s: %v\n%s", j.name, err, f.manifest(j))
		}
		if len(apps) != 1 || apps[0].Metadata.Name != j.name {
			t.Fatalf("%s decoded as %+v", j.name, apps)
		}
		a := apps[0]
		switch {
		case j.cron && (a.CronJob == nil || a.CronJob.Schedule != "* * * * *" ||
			(a.CronJob.ConcurrencyPolicy == v1alpha1.ForbidConcurrent) != j.forbid ||
			!slices.Equal(a.CronJob.JobTemplate.Spec.Command, f.command(j))):
			t.Fatalf("%s: cronjob %+v", j.name, a.CronJob)
		case !j.cron && (a.Job == nil || !slices.Equal(a.Job.Command, f.command(j))):
			t.Fatalf("%s: job %+v", j.name, a.Job)
		}
	}
}

func TestJobFleetPlan_NamesAreNeverReused(t *testing.T) {
	f := newJobFleet("/bin/workload", 5, "/tmp/marks")
	f.initial()
	r := rand.New(rand.NewPCG(7, 1))
	seen := map[string]bool{"job-0": true}
	removed := map[string]bool{}
	for range 500 {
		ch, ok := f.plan(r)
		if !ok {
			continue
		}
		switch ch.kind {
		case kindAdd:
			if seen[ch.app] {
				t.Fatalf("job name %s used twice", ch.app)
			}
			seen[ch.app] = true
		case kindRemove:
			removed[ch.app] = true
		}
		if n := len(f.names(func(j *jobModel) bool { return !j.cron })); n > maxJobs {
			t.Fatalf("%d jobs, at most %d", n, maxJobs)
		}
		if f.jobs["cron-forbid"] == nil || f.jobs["cron-allow"] == nil {
			t.Fatal("a CronJob removed")
		}
	}
	if len(seen) < 5 || len(removed) < 3 {
		t.Fatalf("added %d, removed %d: the plan hardly changes the jobs", len(seen), len(removed))
	}
}

func TestReadMarks(t *testing.T) {
	dir := t.TempDir()
	t0 := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	for name, at := range map[string]time.Time{"job-0-1-0.100": t0.Add(time.Second), "cron-allow-29412345-0.99": t0} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(strconv.FormatInt(at.UnixNano(), 10)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	marks, err := readMarks(dir)
	if err != nil {
		t.Fatal(err)
	}
	want := []startMark{{"cron-allow-29412345-0", 99, t0}, {"job-0-1-0", 100, t0.Add(time.Second)}}
	if !slices.EqualFunc(marks, want, func(a, b startMark) bool { return a.instance == b.instance && a.pid == b.pid && a.start.Equal(b.start) }) {
		t.Fatalf("marks %+v, want %+v", marks, want)
	}
	if err := os.WriteFile(filepath.Join(dir, "nopid"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := readMarks(dir); err == nil {
		t.Fatal("a mark named without a pid read")
	}
	if job, run, ok := runOfInstance("cron-allow-29412345-0"); !ok || job != "cron-allow" || run != 29412345 {
		t.Fatalf("runOfInstance: %s %d %v", job, run, ok)
	}
}

func TestCheckRunsOnce(t *testing.T) {
	t0 := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	m := func(inst string, pid int, s int) startMark {
		return startMark{inst, pid, t0.Add(time.Duration(s) * time.Second)}
	}
	names := map[string]bool{"job-0": true, "cron-allow": true}
	killed := map[int][]time.Time{10: {t0.Add(time.Second)}}
	for _, tc := range []struct {
		name  string
		marks []startMark
		want  int
	}{
		{"one process per index", []startMark{m("job-0-1-0", 10, 0), m("job-0-2-0", 11, 5), m("cron-allow-5-0", 12, 6)}, 0},
		{"a retry after a chaos kill", []startMark{m("job-0-1-0", 10, 0), m("job-0-1-0", 11, 3)}, 0},
		{"a second process after one that ran to its end", []startMark{m("job-0-1-0", 11, 0), m("job-0-1-0", 12, 30)}, 1},
		{"a kill before the process started does not count", []startMark{m("job-0-1-0", 10, 2), m("job-0-1-0", 12, 30)}, 1},
		{"a removed job's names are not checked", []startMark{m("job-9-1-0", 11, 0), m("job-9-1-0", 12, 30)}, 0},
	} {
		if got := checkRunsOnce(tc.marks, killed, names); len(got) != tc.want {
			t.Errorf("%s: breaches %q, want %d", tc.name, got, tc.want)
		}
	}
}

func TestCheckCronRuns(t *testing.T) {
	slot := func(m int64) time.Time { return time.Unix((29412340+m)*60, 0) }
	at := func(t time.Time) *time.Time { return &t }
	cron := func(runs ...v1alpha1.JobRun) v1alpha1.CronJob {
		return v1alpha1.CronJob{Metadata: v1alpha1.ObjectMeta{Name: "c"}, Status: &v1alpha1.CronJobStatus{Runs: runs}}
	}
	run := func(m int64, finished *time.Time) v1alpha1.JobRun {
		return v1alpha1.JobRun{Run: 29412340 + m, FinishedAt: finished}
	}
	mark := func(m int64, t time.Time) startMark {
		return startMark{"c-" + strconv.FormatInt(29412340+m, 10) + "-0", 1, t}
	}
	end := slot(10)
	for _, tc := range []struct {
		name   string
		c      v1alpha1.CronJob
		forbid bool
		marks  []startMark
		want   string
	}{
		{"runs one after the other", cron(run(0, at(slot(1).Add(10*time.Second))), run(1, nil)), true,
			[]startMark{mark(0, slot(0)), mark(1, slot(1).Add(11*time.Second))}, ""},
		{"a run before its slot", cron(run(1, nil)), false, []startMark{mark(1, slot(1).Add(-time.Second))}, "before its slot"},
		{"a start after the run finished", cron(run(0, at(slot(0).Add(5*time.Second)))), false,
			[]startMark{mark(0, slot(0)), mark(0, slot(0).Add(6*time.Second))}, "the slot ran twice"},
		{"Forbid: overlap with a finished run", cron(run(0, at(slot(1).Add(10*time.Second))), run(1, nil)), true,
			[]startMark{mark(0, slot(0)), mark(1, slot(1))}, "before run"},
		{"Allow: overlap is fine", cron(run(0, at(slot(1).Add(10*time.Second))), run(1, nil)), false,
			[]startMark{mark(0, slot(0)), mark(1, slot(1))}, ""},
		{"Forbid: overlap with a run active when read", cron(run(0, nil), run(1, nil)), true,
			[]startMark{mark(0, slot(0)), mark(1, slot(1))}, "still active"},
		{"Forbid: a start after the read, its predecessor active then", cron(run(0, nil)), true,
			[]startMark{mark(0, slot(0)), mark(1, end.Add(time.Second))}, ""},
	} {
		got := checkCronRuns(tc.c, tc.forbid, tc.marks, end)
		if (tc.want == "") != (len(got) == 0) || (tc.want != "" && !strings.Contains(strings.Join(got, "\n"), tc.want)) {
			t.Errorf("%s: breaches %q, want %q", tc.name, got, tc.want)
		}
	}
}

func TestCheckJobsConverged(t *testing.T) {
	f := newJobFleet("/bin/workload", 5, "/tmp/marks")
	f.initial()
	job := func(cmd []string, result v1alpha1.JobResult) v1alpha1.Job {
		return v1alpha1.Job{Metadata: v1alpha1.ObjectMeta{Name: "job-0", Generation: 1}, Spec: v1alpha1.JobSpec{Command: cmd},
			Status: &v1alpha1.JobStatus{Run: 1, Revision: "r", ObservedGeneration: 1, Runs: []v1alpha1.JobRun{{Run: 1, Revision: "r", Result: result}}}}
	}
	cron := func(name string) v1alpha1.CronJob {
		c := v1alpha1.CronJob{Metadata: v1alpha1.ObjectMeta{Name: name}}
		c.Spec.JobTemplate.Spec.Command = f.command(f.jobs[name])
		return c
	}
	crons := []v1alpha1.CronJob{cron("cron-forbid"), cron("cron-allow")}
	good := f.command(f.jobs["job-0"])
	for _, tc := range []struct {
		name  string
		jobs  []v1alpha1.Job
		crons []v1alpha1.CronJob
		want  string
	}{
		{"converged", []v1alpha1.Job{job(good, v1alpha1.JobComplete)}, crons, ""},
		{"a failed run is finished", []v1alpha1.Job{job(good, v1alpha1.JobFailed)}, crons, ""},
		{"still running", []v1alpha1.Job{job(good, "")}, crons, "has not finished"},
		{"an old command", []v1alpha1.Job{job([]string{"old"}, v1alpha1.JobComplete)}, crons, "the file says"},
		{"missing", nil, crons, "not in the API"},
		{"a cronjob missing", []v1alpha1.Job{job(good, v1alpha1.JobComplete)}, crons[:1], "cron-allow: in the manifests"},
		{"one too many", []v1alpha1.Job{job(good, v1alpha1.JobComplete)}, append(slices.Clone(crons), cron("cron-allow")), ""},
	} {
		if tc.name == "one too many" {
			tc.crons[2].Metadata.Name = "cron-gone"
			tc.want = "cron-gone: removed from the manifests"
		}
		got := checkJobsConverged(f, tc.jobs, tc.crons)
		if (tc.want == "") != (len(got) == 0) || (tc.want != "" && !strings.Contains(strings.Join(got, "\n"), tc.want)) {
			t.Errorf("%s: breaches %q, want %q", tc.name, got, tc.want)
		}
	}
}
