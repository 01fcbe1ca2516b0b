package server

import (
	"slices"
	"strings"
	"time"

	"proclet.dev/proclet/apis/v1alpha1"
)

// readJobStats appends the stats of every Job and CronJob, sorted by
// name, to out; none without a MetricsSources.Jobs.
func (c *Collector) readJobStats(out []JobStats) []JobStats {
	if c.src.Jobs == nil {
		return out
	}
	c.src.Jobs.JobStats(func(s JobStats) { out = append(out, s) })
	cmp := func(a, b JobStats) int { return strings.Compare(a.Job, b.Job) }
	if !slices.IsSortedFunc(out, cmp) {
		slices.SortStableFunc(out, cmp)
	}
	return out
}

// jobMetrics adds the series of al.jobs: proclet_job_* for every Job and
// CronJob (a CronJob's runs are jobs, labelled with its name), and
// proclet_cronjob_* for the CronJobs. The label is job_name, as
// kube-state-metrics names it: Prometheus owns job (the scrape job's), and
// would rename ours to exported_job. al.jobs is not appended to while
// the label values point into it.
func (c *Collector) jobMetrics(al *metricAlloc) {
	for i := range al.jobs {
		s := &al.jobs[i]
		name := &s.Job
		al.counter(famJobRuns, al.labels(&c.lJob, name, &c.lResult, &c.vFailed), float64(s.Failed))
		al.counter(famJobRuns, al.labels(&c.lJob, name, &c.lResult, &c.vSucceeded), float64(s.Succeeded))
		al.histogram(famJobDuration, al.labels(&c.lJob, name), s.DurationCount, s.DurationSum, c.jobBounds, s.Buckets)
		if !s.LastSuccess.IsZero() {
			al.gauge(famJobLastSuccess, al.labels(&c.lJob, name), unixSeconds(s.LastSuccess))
		}
		if s.Kind != v1alpha1.KindCronJob {
			continue
		}
		al.counter(famCronMissed, al.labels(&c.lCronJob, name), float64(s.Missed))
		if !s.NextSchedule.IsZero() {
			al.gauge(famCronNext, al.labels(&c.lCronJob, name), unixSeconds(s.NextSchedule))
		}
	}
}

// unixSeconds is t in Unix seconds, exact to the float's precision (a
// division of UnixNano would round 0.25 s off).
func unixSeconds(t time.Time) float64 { return float64(t.Unix()) + float64(t.Nanosecond())/1e9 }
