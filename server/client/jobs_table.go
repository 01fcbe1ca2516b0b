package client

import (
	"fmt"
	"strconv"
	"time"

	"proclet.dev/proclet/apis/v1alpha1"
)

// The defaults of a Job's counts, for a spec the daemon sent without them.
const (
	defaultCompletions  = 1
	defaultParallelism  = 1
	defaultBackoffLimit = 6
)

// JobTable is `proclet get jobs`: NAME COMPLETIONS DURATION AGE STATUS, as
// kubectl prints Jobs. COMPLETIONS is succeeded/completions of the current
// run; DURATION its time from start to completion (or failure, or now
// while it runs); STATUS is JobStatus's.
func JobTable(jobs []v1alpha1.Job, now time.Time) *Table {
	t := &Table{Header: []string{"NAME", "COMPLETIONS", "DURATION", "AGE", "STATUS"}}
	for i := range jobs {
		j := &jobs[i]
		st := jobStatus(j)
		t.Append(j.Metadata.Name, Completions(&j.Spec, st), RunDuration(st.StartTime, jobEnd(st), now),
			objectAge(j.Metadata.CreationTimestamp, st.Runs, now), JobState(st))
	}
	return t
}

// JobTableWide is `proclet get jobs -o wide`: JobTable's columns, then
// RUN (the current run's number), REVISION, SOURCE and COMMAND.
func JobTableWide(jobs []v1alpha1.Job, now time.Time) *Table {
	t := JobTable(jobs, now)
	t.Header = append(t.Header, "RUN", "REVISION", "SOURCE", "COMMAND")
	for i := range jobs {
		st := jobStatus(&jobs[i])
		run := none
		if st.Run > 0 {
			run = strconv.FormatInt(st.Run, 10)
		}
		t.Rows[i] = append(t.Rows[i], run, orNone(st.Revision), orNone(st.Source), orNone(shellJoin(jobs[i].Spec.Command)))
	}
	return t
}

// CronJobTable is `proclet get cronjobs`: NAME SCHEDULE TIMEZONE SUSPEND
// ACTIVE LAST SCHEDULE NEXT AGE, as kubectl prints CronJobs, and NEXT:
// when the next run is due ("in 12m"), "-" when none is (suspended).
func CronJobTable(cjs []v1alpha1.CronJob, now time.Time) *Table {
	t := &Table{Header: []string{"NAME", "SCHEDULE", "TIMEZONE", "SUSPEND", "ACTIVE", "LAST SCHEDULE", "NEXT", "AGE"}}
	for i := range cjs {
		c := &cjs[i]
		st := cronJobStatus(c)
		suspend := c.Spec.Suspend != nil && *c.Spec.Suspend
		t.Append(c.Metadata.Name, c.Spec.Schedule, orNone(c.Spec.TimeZone), boolTitle(suspend), strconv.Itoa(len(st.Active)),
			Age(st.LastScheduleTime, now), Until(st.NextScheduleTime, now), objectAge(c.Metadata.CreationTimestamp, st.Runs, now))
	}
	return t
}

// CronJobTableWide is `proclet get cronjobs -o wide`: CronJobTable's
// columns, then CONCURRENCY, LAST SUCCESS (its age), MISSED, SOURCE and
// COMMAND.
func CronJobTableWide(cjs []v1alpha1.CronJob, now time.Time) *Table {
	t := CronJobTable(cjs, now)
	t.Header = append(t.Header, "CONCURRENCY", "LAST SUCCESS", "MISSED", "SOURCE", "COMMAND")
	for i := range cjs {
		c := &cjs[i]
		st := cronJobStatus(c)
		t.Rows[i] = append(t.Rows[i], orDefault(string(c.Spec.ConcurrencyPolicy), string(v1alpha1.AllowConcurrent)),
			Age(st.LastSuccessfulTime, now), strconv.FormatInt(st.MissedSchedules, 10), orNone(st.Source),
			orNone(shellJoin(c.Spec.JobTemplate.Spec.Command)))
	}
	return t
}

// JobState is a Job's STATUS: Complete, Failed (REASON), Running once its
// current run started, else Pending (not started: waiting for a
// dependency, or parallelism 0).
func JobState(st v1alpha1.JobStatus) string {
	for _, c := range st.Conditions {
		if c.Status != v1alpha1.ConditionTrue {
			continue
		}
		switch c.Type {
		case v1alpha1.ConditionComplete:
			return "Complete"
		case v1alpha1.ConditionFailed:
			return failed(c.Reason)
		}
	}
	if r := currentRun(st.Runs, st.Run); r != nil && r.Result != "" {
		return RunState(r)
	}
	if st.StartTime != nil || st.Active > 0 {
		return "Running"
	}
	return "Pending"
}

// RunState is a run's result: Running while it runs, Complete, or
// Failed (REASON).
func RunState(r *v1alpha1.JobRun) string {
	switch r.Result {
	case v1alpha1.JobComplete:
		return "Complete"
	case v1alpha1.JobFailed:
		return failed(r.Reason)
	}
	return "Running"
}

func failed(reason string) string {
	if reason == "" {
		return "Failed"
	}
	return "Failed (" + reason + ")"
}

// Completions is succeeded/completions: "1/3".
func Completions(s *v1alpha1.JobSpec, st v1alpha1.JobStatus) string {
	return fmt.Sprintf("%d/%d", st.Succeeded, int32Or(s.Completions, defaultCompletions))
}

// RunDuration is the time from start to end (now when end is nil), or
// "-" when it has not started.
func RunDuration(start, end *time.Time, now time.Time) string {
	if start == nil || start.IsZero() {
		return none
	}
	if end == nil || end.IsZero() {
		end = &now
	}
	return HumanDuration(end.Sub(*start))
}

// Until is "in 12m" for a time to come, "now" for one passed, "-" for
// none.
func Until(t *time.Time, now time.Time) string {
	if t == nil || t.IsZero() {
		return none
	}
	if !t.After(now) {
		return "now"
	}
	return "in " + HumanDuration(t.Sub(now))
}

// jobEnd is when the current run ended: its completion, else its failure.
func jobEnd(st v1alpha1.JobStatus) *time.Time {
	if st.CompletionTime != nil {
		return st.CompletionTime
	}
	if r := currentRun(st.Runs, st.Run); r != nil && r.FinishedAt != nil {
		return r.FinishedAt
	}
	return nil
}

// currentRun is the run numbered run among runs, nil when not kept.
func currentRun(runs []v1alpha1.JobRun, run int64) *v1alpha1.JobRun {
	for i := range runs {
		if runs[i].Run == run {
			return &runs[i]
		}
	}
	return nil
}

// objectAge is the object's creationTimestamp's age, else that of the
// oldest kept run's start (a daemon that keeps no creation time), else "-".
func objectAge(created time.Time, runs []v1alpha1.JobRun, now time.Time) string {
	if !created.IsZero() {
		return Age(&created, now)
	}
	var oldest *time.Time
	for i := range runs {
		if s := runs[i].StartTime; s != nil && (oldest == nil || s.Before(*oldest)) {
			oldest = s
		}
	}
	return Age(oldest, now)
}

func jobStatus(j *v1alpha1.Job) v1alpha1.JobStatus {
	if j.Status == nil {
		return v1alpha1.JobStatus{}
	}
	return *j.Status
}

func cronJobStatus(c *v1alpha1.CronJob) v1alpha1.CronJobStatus {
	if c.Status == nil {
		return v1alpha1.CronJobStatus{}
	}
	return *c.Status
}

func int32Or(p *int32, def int32) int32 {
	if p == nil {
		return def
	}
	return *p
}

// boolTitle is kubectl's True or False.
func boolTitle(b bool) string {
	if b {
		return "True"
	}
	return "False"
}
