package client

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"proclet.dev/proclet/apis/v1alpha1"
)

// jobNow is tableNow: ago is of it.
var jobNow = tableNow

// testJobs: migrate completed 3/3 in 42s; backfill failed its backoff
// limit; seed runs (1/2 so far, for 30s); later has not started.
func testJobs() []v1alpha1.Job {
	complete := v1alpha1.Condition{Type: v1alpha1.ConditionComplete, Status: v1alpha1.ConditionTrue}
	failedCond := v1alpha1.Condition{Type: v1alpha1.ConditionFailed, Status: v1alpha1.ConditionTrue, Reason: v1alpha1.ReasonBackoffLimitExceeded}
	return []v1alpha1.Job{
		{Metadata: v1alpha1.ObjectMeta{Name: "migrate", CreationTimestamp: *ago(2 * time.Hour)},
			Spec: v1alpha1.JobSpec{Command: []string{"migrate", "up"}, Completions: i32(3)},
			Status: &v1alpha1.JobStatus{Succeeded: 3, StartTime: ago(time.Hour), CompletionTime: ago(time.Hour - 42*time.Second),
				Run: 1, Conditions: []v1alpha1.Condition{complete},
				Runs: []v1alpha1.JobRun{{Name: "migrate-1", Run: 1, Succeeded: 3, Result: v1alpha1.JobComplete, StartTime: ago(time.Hour),
					CompletionTime: ago(time.Hour - 42*time.Second)}}}},
		{Metadata: v1alpha1.ObjectMeta{Name: "backfill"}, Spec: v1alpha1.JobSpec{Command: []string{"backfill"}},
			Status: &v1alpha1.JobStatus{Failed: 7, StartTime: ago(10 * time.Minute), Run: 2, Conditions: []v1alpha1.Condition{failedCond},
				Runs: []v1alpha1.JobRun{{Name: "backfill-2", Run: 2, Failed: 7, Result: v1alpha1.JobFailed,
					Reason: v1alpha1.ReasonBackoffLimitExceeded, StartTime: ago(10 * time.Minute), FinishedAt: ago(5 * time.Minute),
					Message: "7 failures, backoffLimit 6"}}}},
		{Metadata: v1alpha1.ObjectMeta{Name: "seed"}, Spec: v1alpha1.JobSpec{Command: []string{"seed"}, Completions: i32(2)},
			Status: &v1alpha1.JobStatus{Active: 1, Succeeded: 1, StartTime: ago(30 * time.Second), Run: 1,
				Runs: []v1alpha1.JobRun{{Name: "seed-1", Run: 1, Active: 1, Succeeded: 1, StartTime: ago(30 * time.Second)}}}},
		{Metadata: v1alpha1.ObjectMeta{Name: "later"}, Spec: v1alpha1.JobSpec{Command: []string{"later"}}},
	}
}

func TestJobTable(t *testing.T) {
	got := JobTable(testJobs(), jobNow).String()
	want := `NAME       COMPLETIONS   DURATION   AGE    STATUS
migrate    3/3           42s        120m   Complete
backfill   0/1           5m         10m    Failed (BackoffLimitExceeded)
seed       1/2           30s        30s    Running
later      0/1           -          -      Pending
`
	if got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	wide := JobTableWide(testJobs()[:1], jobNow).String()
	if !strings.Contains(wide, "RUN   REVISION   SOURCE   COMMAND") || !strings.Contains(wide, "1     -          -        migrate up") {
		t.Errorf("wide:\n%s", wide)
	}
}

func testCronJobs() []v1alpha1.CronJob {
	yes := true
	return []v1alpha1.CronJob{
		{Metadata: v1alpha1.ObjectMeta{Name: "report", CreationTimestamp: *ago(72 * time.Hour)},
			Spec: v1alpha1.CronJobSpec{Schedule: "0 * * * *", TimeZone: "Europe/Paris",
				JobTemplate: v1alpha1.JobTemplateSpec{Spec: v1alpha1.JobSpec{Command: []string{"report"}}}},
			Status: &v1alpha1.CronJobStatus{Active: []string{"report-29543040"}, LastScheduleTime: ago(5 * time.Minute),
				NextScheduleTime: ago(-55 * time.Minute), MissedSchedules: 1}},
		{Metadata: v1alpha1.ObjectMeta{Name: "nightly"},
			Spec: v1alpha1.CronJobSpec{Schedule: "@daily", Suspend: &yes, ConcurrencyPolicy: v1alpha1.ForbidConcurrent,
				JobTemplate: v1alpha1.JobTemplateSpec{Spec: v1alpha1.JobSpec{Command: []string{"nightly"}}}}},
	}
}

func TestCronJobTable(t *testing.T) {
	got := CronJobTable(testCronJobs(), jobNow).String()
	want := `NAME      SCHEDULE    TIMEZONE       SUSPEND   ACTIVE   LAST SCHEDULE   NEXT     AGE
report    0 * * * *   Europe/Paris   False     1        5m              in 55m   3d
nightly   @daily      -              True      0        -               -        -
`
	if got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	wide := CronJobTableWide(testCronJobs(), jobNow).String()
	if !strings.Contains(wide, "CONCURRENCY   LAST SUCCESS   MISSED") || !strings.Contains(wide, "Forbid ") {
		t.Errorf("wide:\n%s", wide)
	}
}

func TestDescribeJob(t *testing.T) {
	jobs := testJobs()
	jobs[1].Spec.Env = []v1alpha1.EnvVar{{Name: "TOKEN", Value: "<redacted>"}}
	var b strings.Builder
	err := DescribeJob(&b, &JobDescription{Job: &jobs[1],
		Instances: []v1alpha1.Instance{{Name: "backfill-2-0", App: "backfill", Phase: v1alpha1.PhaseFailed, Reason: "Error"}}}, jobNow)
	if err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{
		"Name:             backfill\n",
		"Completions:      1 (NonIndexed), parallelism 1\n",
		"Limits:           backoffLimit 6\n",
		"Restart policy:   Never\n",
		"Env:              TOKEN (values not shown)\n",
		"Status:           Failed (BackoffLimitExceeded)\n",
		"Processes:        0 active | 0 succeeded | 7 failed\n",
		"Conditions:\n  TYPE     STATUS   REASON",
		"Runs:\n  NAME         STATUS                          SUCCEEDED   FAILED   ACTIVE   STARTED   DURATION   MESSAGE\n" +
			"  backfill-2   Failed (BackoffLimitExceeded)   0           7        0        10m       5m         7 failures, backoffLimit 6\n",
		"Instances:\n  NAME           PHASE",
		"backfill-2-0   Failed (Error)",
		"Events:           <none>\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("lacks %q:\n%s", want, out)
		}
	}
}

func TestDescribeCronJob(t *testing.T) {
	cjs := testCronJobs()
	cjs[0].Status.Runs = []v1alpha1.JobRun{{Name: "report-29543040", Run: 29543040, Active: 1, ScheduledTime: ago(5 * time.Minute),
		StartTime: ago(5 * time.Minute)}}
	var b strings.Builder
	if err := DescribeCronJob(&b, &JobDescription{CronJob: &cjs[0]}, jobNow); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{
		"Schedule:         0 * * * *\n",
		"Time zone:        Europe/Paris\n",
		"Concurrency:      Allow\n",
		"Last schedule:    2026-05-01T11:55:00Z (5m ago)\n",
		"Next schedule:    2026-05-01T12:55:00Z (in 55m)\n",
		"Missed schedules: 1\n",
		"Active runs:      report-29543040\n",
		"Command:          report\n",
		"  NAME              STATUS    SUCCEEDED   FAILED   ACTIVE   SCHEDULED   STARTED   DURATION   MESSAGE\n" +
			"  report-29543040   Running   0           0        1        5m          5m        5m         -\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("lacks %q:\n%s", want, out)
		}
	}
}

func TestWatch_DecodesJobKinds(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		defer c.CloseNow()
		for _, m := range []string{
			`{"type":"ADDED","kind":"Job","object":{"kind":"Job","metadata":{"name":"migrate"},"spec":{"command":["m"]},"status":{"succeeded":1,"run":1,"conditions":[],"runs":[]}}}`,
			`{"type":"MODIFIED","kind":"CronJob","object":{"kind":"CronJob","metadata":{"name":"report"},"spec":{"schedule":"@hourly","jobTemplate":{"spec":{"command":["r"]}}}}}`,
		} {
			if c.Write(r.Context(), websocket.MessageText, []byte(m)) != nil {
				return
			}
		}
		_ = c.Close(websocket.StatusGoingAway, "the daemon is stopping")
	}))
	defer srv.Close()
	w, err := New(srv.URL, "").Watch(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	ev, err := w.Next(t.Context())
	if err != nil || ev.Kind != v1alpha1.KindJob || ev.Job == nil || ev.Job.Metadata.Name != "migrate" || ev.Job.Status.Succeeded != 1 ||
		ev.App != nil || ev.CronJob != nil {
		t.Fatalf("job event: %+v, %v", ev, err)
	}
	ev, err = w.Next(t.Context())
	if err != nil || ev.Type != "MODIFIED" || ev.CronJob == nil || ev.CronJob.Spec.Schedule != "@hourly" || ev.Job != nil {
		t.Fatalf("cronjob event: %+v, %v", ev, err)
	}
}
