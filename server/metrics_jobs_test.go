package server

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"proclet.dev/proclet/apis/v1alpha1"
)

func (f *metricsFake) JobStats(fn func(JobStats)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, s := range f.jobs {
		fn(s)
	}
}

// fixtureJobs: migrate ran three times (two succeeded, in 3 s and 40 s,
// one failed after 2 s); report is a CronJob that never succeeded, with
// two missed slots; nightly is a suspended CronJob (no next slot). Given
// out of order: the collector sorts them.
func fixtureJobs() []JobStats {
	buckets := func(durations ...float64) []uint64 {
		out := make([]uint64, len(JobDurationBuckets))
		for i, b := range JobDurationBuckets {
			for _, d := range durations {
				if d <= b {
					out[i]++
				}
			}
		}
		return out
	}
	return []JobStats{
		{Job: "report", Kind: v1alpha1.KindCronJob, Failed: 1, DurationSum: 2, DurationCount: 1, Buckets: buckets(2),
			NextSchedule: time.Unix(1_700_003_600, 0), Missed: 2},
		{Job: "migrate", Kind: v1alpha1.KindJob, Succeeded: 2, Failed: 1, DurationSum: 45, DurationCount: 3, Buckets: buckets(3, 40, 2),
			LastSuccess: time.Unix(1_700_000_000, 250_000_000)},
		{Job: "nightly", Kind: v1alpha1.KindCronJob, Buckets: buckets()},
	}
}

func TestCollector_JobSeries(t *testing.T) {
	f := &metricsFake{jobs: fixtureJobs()}
	f.set(fixture())
	c := NewCollector(f.sources())
	want := `
# HELP proclet_cronjob_missed_schedules_total Schedule slots of the CronJob not run (past startingDeadlineSeconds, or skipped under Forbid) since the daemon started.
# TYPE proclet_cronjob_missed_schedules_total counter
proclet_cronjob_missed_schedules_total{cronjob="nightly"} 0
proclet_cronjob_missed_schedules_total{cronjob="report"} 2
# HELP proclet_cronjob_next_schedule_timestamp_seconds The CronJob's next schedule slot, in Unix seconds (absent while suspended or when there is none).
# TYPE proclet_cronjob_next_schedule_timestamp_seconds gauge
proclet_cronjob_next_schedule_timestamp_seconds{cronjob="report"} 1.7000036e+09
# HELP proclet_job_last_success_timestamp_seconds When a run of the Job (or of the CronJob) last completed, in Unix seconds (absent before the first).
# TYPE proclet_job_last_success_timestamp_seconds gauge
proclet_job_last_success_timestamp_seconds{job_name="migrate"} 1.70000000025e+09
# HELP proclet_job_runs_total Finished runs of a Job (or of a CronJob) since the daemon started, by result (succeeded, failed).
# TYPE proclet_job_runs_total counter
proclet_job_runs_total{job_name="migrate",result="failed"} 1
proclet_job_runs_total{job_name="migrate",result="succeeded"} 2
proclet_job_runs_total{job_name="nightly",result="failed"} 0
proclet_job_runs_total{job_name="nightly",result="succeeded"} 0
proclet_job_runs_total{job_name="report",result="failed"} 1
proclet_job_runs_total{job_name="report",result="succeeded"} 0
`
	names := []string{"proclet_cronjob_missed_schedules_total", "proclet_cronjob_next_schedule_timestamp_seconds",
		"proclet_job_last_success_timestamp_seconds", "proclet_job_runs_total"}
	if err := testutil.CollectAndCompare(c, strings.NewReader(want), names...); err != nil {
		t.Fatal(err)
	}
	wantHist := `
# HELP proclet_job_duration_seconds How long the finished runs of a Job (or of a CronJob) took, from start to completion or failure.
# TYPE proclet_job_duration_seconds histogram
` + histLines("migrate", []int{0, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3}, 3, 45) +
		histLines("nightly", make([]int, 12), 0, 0) +
		histLines("report", []int{0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1}, 1, 2)
	if err := testutil.CollectAndCompare(c, strings.NewReader(wantHist), "proclet_job_duration_seconds"); err != nil {
		t.Fatal(err)
	}
	// The fast path (Gather, what /metrics serves) and a registry's
	// Collect agree, and the exposition lints clean.
	if problems, err := testutil.CollectAndLint(c); err != nil || len(problems) > 0 {
		t.Fatalf("lint: %v %+v", err, problems)
	}
	if err := testutil.GatherAndCompare(c, strings.NewReader(want), names...); err != nil {
		t.Fatal(err)
	}
}

// histLines is the text exposition of one job's duration histogram.
func histLines(job string, cum []int, count int, sum float64) string {
	var b strings.Builder
	for i, le := range []string{"1", "5", "15", "30", "60", "300", "900", "1800", "3600", "7200", "21600", "86400"} {
		b.WriteString(`proclet_job_duration_seconds_bucket{job_name="` + job + `",le="` + le + `"} ` + itoa(cum[i]) + "\n")
	}
	b.WriteString(`proclet_job_duration_seconds_bucket{job_name="` + job + `",le="+Inf"} ` + itoa(count) + "\n")
	b.WriteString(`proclet_job_duration_seconds_sum{job_name="` + job + `"} ` + ftoa(sum) + "\n")
	b.WriteString(`proclet_job_duration_seconds_count{job_name="` + job + `"} ` + itoa(count) + "\n")
	return b.String()
}

// Without a Jobs source there is no job series, and nothing breaks.
func TestCollector_NoJobSource(t *testing.T) {
	f := &metricsFake{jobs: fixtureJobs()}
	f.set(fixture())
	src := f.sources()
	src.Jobs = nil
	if n := testutil.CollectAndCount(NewCollector(src), "proclet_job_runs_total", "proclet_cronjob_missed_schedules_total"); n != 0 {
		t.Fatalf("%d job series without a Jobs source", n)
	}
}

func itoa(n int) string     { return strconv.Itoa(n) }
func ftoa(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }

// The state's apps are of kind App only; should a carried Job slip in,
// it gets no proclet_app_* series (its own are the proclet_job_* ones).
func TestCollector_AppSeriesOfKindAppOnly(t *testing.T) {
	f := &metricsFake{}
	apps, insts := fixture()
	job := v1alpha1.Job{Metadata: v1alpha1.ObjectMeta{Name: "migrate"}, Spec: v1alpha1.JobSpec{Command: []string{"m"}}}
	f.set(append(apps, job.Carrier()), insts)
	c := NewCollector(f.sources())
	if n := testutil.CollectAndCount(c, "proclet_app_replicas_desired"); n != 2 {
		t.Errorf("%d proclet_app_replicas_desired series, want 2 (db, web)", n)
	}
	if n := testutil.CollectAndCount(c, "proclet_ports_allocated"); n != 2 {
		t.Errorf("%d proclet_ports_allocated series, want 2", n)
	}
}
