package client

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"proclet.dev/proclet/apis/v1alpha1"
)

// JobDescription is what `proclet describe job NAME` and `describe
// cronjob NAME` show: Job or CronJob is set.
type JobDescription struct {
	Job       *v1alpha1.Job
	CronJob   *v1alpha1.CronJob
	Instances []v1alpha1.Instance // of every run kept
	Events    []v1alpha1.Event    // newest first
	EventsErr error
}

// DescribeJob prints a Job like kubectl describe job: the spec (env values
// never shown), the current run's status, then the conditions, the runs
// kept, their instances and the events.
func DescribeJob(w io.Writer, d *JobDescription, now time.Time) error {
	j := d.Job
	st := jobStatus(j)
	var kv [][2]string
	add := func(k, v string) { kv = append(kv, [2]string{k, v}) }
	add("Name:", j.Metadata.Name)
	add("Labels:", keyValues(j.Metadata.Labels))
	add("Source:", sourceOf(st.Source, st.SourceRevision))
	add("Generation:", generation(j.Metadata.Generation, st.ObservedGeneration))
	add("Revision:", orNone(st.Revision))
	kv = append(kv, jobSpecFields(&j.Spec)...)
	run := none
	if st.Run > 0 {
		run = strconv.FormatInt(st.Run, 10)
	}
	add("Run:", run)
	add("Start time:", timeOrNone(st.StartTime))
	if st.CompletionTime != nil {
		add("Completed at:", timeOrNone(st.CompletionTime))
	}
	add("Duration:", RunDuration(st.StartTime, jobEnd(st), now))
	add("Status:", JobState(st))
	add("Processes:", fmt.Sprintf("%d active | %d succeeded | %d failed", st.Active, st.Succeeded, st.Failed))
	if st.CompletedIndexes != "" {
		add("Completed indexes:", st.CompletedIndexes)
	}
	return describeJobSections(w, kv, st.Conditions, st.Runs, false, d, now)
}

// DescribeCronJob prints a CronJob: its schedule, its status, its job
// template, then the conditions, the runs kept, their instances and the
// events.
func DescribeCronJob(w io.Writer, d *JobDescription, now time.Time) error {
	c := d.CronJob
	st := cronJobStatus(c)
	s := &c.Spec
	var kv [][2]string
	add := func(k, v string) { kv = append(kv, [2]string{k, v}) }
	add("Name:", c.Metadata.Name)
	add("Labels:", keyValues(c.Metadata.Labels))
	add("Source:", sourceOf(st.Source, st.SourceRevision))
	add("Generation:", generation(c.Metadata.Generation, st.ObservedGeneration))
	add("Revision:", orNone(st.Revision))
	add("Schedule:", s.Schedule)
	add("Time zone:", orDefault(s.TimeZone, "<daemon's local>"))
	add("Concurrency:", orDefault(string(s.ConcurrencyPolicy), string(v1alpha1.AllowConcurrent)))
	add("Suspend:", boolTitle(s.Suspend != nil && *s.Suspend))
	if s.StartingDeadlineSeconds != nil {
		add("Starting deadline:", fmt.Sprintf("%ds", *s.StartingDeadlineSeconds))
	}
	add("History limits:", fmt.Sprintf("%d succeeded, %d failed", int32Or(s.SuccessfulJobsHistoryLimit, 3), int32Or(s.FailedJobsHistoryLimit, 1)))
	add("Last schedule:", timeAgo(st.LastScheduleTime, now))
	add("Last success:", timeAgo(st.LastSuccessfulTime, now))
	next := timeOrNone(st.NextScheduleTime)
	if st.NextScheduleTime != nil {
		next += " (" + Until(st.NextScheduleTime, now) + ")"
	}
	add("Next schedule:", next)
	add("Missed schedules:", strconv.FormatInt(st.MissedSchedules, 10))
	add("Active runs:", orDefault(strings.Join(st.Active, ", "), "<none>"))
	if len(s.JobTemplate.Metadata.Labels) > 0 {
		add("Run labels:", keyValues(s.JobTemplate.Metadata.Labels))
	}
	kv = append(kv, jobSpecFields(&s.JobTemplate.Spec)...)
	return describeJobSections(w, kv, st.Conditions, st.Runs, true, d, now)
}

// jobSpecFields summarize a JobSpec, as describe shows it.
func jobSpecFields(s *v1alpha1.JobSpec) [][2]string {
	var kv [][2]string
	add := func(k, v string) { kv = append(kv, [2]string{k, v}) }
	add("Command:", shellJoin(s.Command))
	if s.WorkingDir != "" {
		add("Working dir:", s.WorkingDir)
	}
	if s.User != "" {
		add("User:", s.User)
	}
	mode := orDefault(string(s.CompletionMode), string(v1alpha1.NonIndexed))
	add("Completions:", fmt.Sprintf("%d (%s), parallelism %d", int32Or(s.Completions, defaultCompletions), mode,
		int32Or(s.Parallelism, defaultParallelism)))
	limits := fmt.Sprintf("backoffLimit %d", int32Or(s.BackoffLimit, defaultBackoffLimit))
	if s.ActiveDeadlineSeconds != nil {
		limits += fmt.Sprintf(", activeDeadlineSeconds %d", *s.ActiveDeadlineSeconds)
	}
	if s.TTLSecondsAfterFinished != nil {
		limits += fmt.Sprintf(", ttlSecondsAfterFinished %d", *s.TTLSecondsAfterFinished)
	}
	add("Limits:", limits)
	restart := orDefault(string(s.RestartPolicy), string(v1alpha1.RestartNever))
	if b := s.RestartBackoff; b != nil && b.Initial != nil && b.Max != nil {
		restart += fmt.Sprintf(" (backoff %s to %s)", b.Initial.Duration, b.Max.Duration)
	}
	add("Restart policy:", restart)
	add("Env:", envSummary(s.Env))
	if l := limitsSummary(s.Resources.Limits); l != "" {
		add("Resources:", l)
	}
	if len(s.DependsOn) > 0 {
		add("Depends on:", dependsSummary(s.DependsOn))
	}
	if len(s.NodeSelector) > 0 {
		add("Node selector:", keyValues(s.NodeSelector))
	}
	return kv
}

// describeJobSections prints the fields, then the tables.
func describeJobSections(w io.Writer, kv [][2]string, conds []v1alpha1.Condition, runs []v1alpha1.JobRun, scheduled bool,
	d *JobDescription, now time.Time) error {
	ew := &errWriter{w: w}
	for _, p := range kv {
		field(ew, p[0], cellReplacer.Replace(p[1]))
	}
	section(ew, "Conditions", len(conds), ConditionTable(conds, now), nil)
	section(ew, "Runs", len(runs), RunTable(runs, scheduled, now), nil)
	section(ew, "Instances", len(d.Instances), InstanceTable(d.Instances, now), nil)
	section(ew, "Events", len(d.Events), EventTable(d.Events, now), d.EventsErr)
	return ew.err
}

// RunTable lists runs, newest first as the status keeps them: NAME STATUS
// SUCCEEDED FAILED ACTIVE [SCHEDULED] STARTED DURATION MESSAGE; SCHEDULED
// (the slot's age) for a CronJob's runs.
func RunTable(runs []v1alpha1.JobRun, scheduled bool, now time.Time) *Table {
	h := []string{"NAME", "STATUS", "SUCCEEDED", "FAILED", "ACTIVE"}
	if scheduled {
		h = append(h, "SCHEDULED")
	}
	t := &Table{Header: append(h, "STARTED", "DURATION", "MESSAGE")}
	for i := range runs {
		r := &runs[i]
		row := []string{r.Name, RunState(r), strconv.Itoa(int(r.Succeeded)), strconv.Itoa(int(r.Failed)), strconv.Itoa(int(r.Active))}
		if scheduled {
			row = append(row, Age(r.ScheduledTime, now))
		}
		end := r.CompletionTime
		if end == nil {
			end = r.FinishedAt
		}
		if end == nil && r.Result != "" {
			end = r.StartTime // finished, end unknown: no ever-growing duration
		}
		t.Append(append(row, Age(r.StartTime, now), RunDuration(r.StartTime, end, now), orNone(r.Message))...)
	}
	return t
}

func sourceOf(source, rev string) string {
	out := orNone(source)
	if rev != "" {
		out += " (at " + rev + ")"
	}
	return out
}

func generation(gen, observed int64) string {
	out := strconv.FormatInt(gen, 10)
	if observed != gen {
		out += fmt.Sprintf(" (status is of generation %d: an edit is not applied yet)", observed)
	}
	return out
}

func timeOrNone(t *time.Time) string {
	if t == nil || t.IsZero() {
		return "<none>"
	}
	return t.UTC().Format(time.RFC3339)
}

// timeAgo is "2026-01-02T15:04:05Z (5m ago)", or "<none>".
func timeAgo(t *time.Time, now time.Time) string {
	if t == nil || t.IsZero() {
		return "<none>"
	}
	return timeOrNone(t) + " (" + Age(t, now) + " ago)"
}
