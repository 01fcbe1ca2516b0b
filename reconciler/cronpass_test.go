package reconciler

import (
	"strings"
	"testing"
	"time"

	"proclet.dev/proclet/apis/v1alpha1"
	"proclet.dev/proclet/runtime"
)

// The CronJob's pass and status as pure functions of their input.

// cronPassOf plans one pass of app at now with the runs of job and the
// processes observed.
func cronPassOf(app *v1alpha1.App, job *jobState, now time.Time, observed ...runtime.State) output {
	v1alpha1.Default(app)
	return planCronJob(input{app: app, revision: "r1", replicas: 1, synced: true, job: job, observed: observed, now: now})
}

func cronStartsOf(out output) []string {
	var s []string
	for _, a := range out.actions {
		if a.kind == actStart {
			s = append(s, a.instance)
		}
	}
	return s
}

func notesOf(out output, reason string) []note {
	var n []note
	for _, x := range out.notes {
		if x.reason == reason {
			n = append(n, x)
		}
	}
	return n
}

func TestPlanCronJob_AForbiddenSlotRunsInThePassItsActiveRunCompletes(t *testing.T) {
	app := testCron("report", "*/5 * * * *", func(s *v1alpha1.CronJobSpec) { s.ConcurrencyPolicy = v1alpha1.ForbidConcurrent })
	n5 := cronRunOf(slotAt(5))
	job := &jobState{Runs: []*jobRun{{Run: n5, Revision: "r1", Scheduled: slotAt(5), Start: slotAt(5),
		Slots: map[int]slot{0: {UID: "u5", Revision: "r1"}}}},
		Cron: &cronState{Last: slotAt(5), Counted: slotAt(10).Add(-time.Second), Skipped: slotAt(10)}}
	exited := runtime.State{UID: "u5", App: "report", Instance: jobInstance("report", n5, 0), Revision: "r1", StartedAt: slotAt(5),
		Exit: &v1alpha1.ExitStatus{Code: 0, Reason: "Completed", At: slotAt(11)}}
	out := cronPassOf(app, job, slotAt(11), exited)
	if got := cronStartsOf(out); len(got) != 1 || got[0] != instanceOfSlot("report", 10) {
		t.Fatalf("starts %v, want the held slot of 00:10 in the pass that saw its predecessor complete", got)
	}
}

func TestPlanCronJob_AdoptsIntoAKnownRun(t *testing.T) {
	app := testCron("report", "*/5 * * * *")
	n5 := cronRunOf(slotAt(5))
	// The record knows the run, not its process (started after the
	// last save): the process is the run's index 0, not started again.
	job := &jobState{Runs: []*jobRun{{Run: n5, Revision: "r1", Scheduled: slotAt(5), Start: slotAt(5)}}, Cron: &cronState{Last: slotAt(5)}}
	running := runtime.State{UID: "u5", App: "report", Instance: jobInstance("report", n5, 0), Revision: "r1", StartedAt: slotAt(5)}
	out := cronPassOf(app, job, slotAt(6), running)
	if got := cronStartsOf(out); len(got) != 0 || out.job.Runs[0].Slots[0].UID != "u5" || len(notesOf(out, "RunAdopted")) != 0 {
		t.Fatalf("starts %v, slots %+v, notes %+v", got, out.job.Runs[0].Slots, out.notes)
	}
	// A run the record lost entirely is adopted, and said so.
	out = cronPassOf(app, &jobState{Cron: &cronState{}}, slotAt(6), running)
	if n := notesOf(out, "RunAdopted"); len(cronStartsOf(out)) != 0 || len(n) != 1 || n[0].warning || n[0].object != runName("report", n5) {
		t.Fatalf("starts %v, notes %+v", cronStartsOf(out), out.notes)
	}
}

func TestPlanCronJob_MissedNotes(t *testing.T) {
	every := testCron("report", "* * * * *")
	out := cronPassOf(every, &jobState{Cron: &cronState{Last: slotAt(0)}}, slotAt(300))
	if n := notesOf(out, "MissedSchedule"); len(n) != 1 || !n[0].warning || !strings.Contains(n[0].message, "more than 100") {
		t.Fatalf("notes %+v", out.notes)
	}
	late := testCron("report", "* * * * *", func(s *v1alpha1.CronJobSpec) { s.StartingDeadlineSeconds = ptr(int64(10)) })
	out = cronPassOf(late, &jobState{Cron: &cronState{Last: slotAt(0)}}, slotAt(3).Add(30*time.Second))
	if n := notesOf(out, "MissedSchedule"); len(n) != 1 || !n[0].warning || !strings.Contains(n[0].message, "past startingDeadlineSeconds") {
		t.Fatalf("notes %+v", out.notes)
	}
}

func TestDeriveCronJob(t *testing.T) {
	app := testCron("report", "*/5 * * * *")
	app.CronJob.JobTemplate.Metadata.Labels = map[string]string{"team": "data"}
	v1alpha1.Default(app)
	n5, n10 := cronRunOf(slotAt(5)), cronRunOf(slotAt(10))
	job := &jobState{LastSuccess: slotAt(7), Cron: &cronState{Last: slotAt(10), Next: slotAt(15), Missed: 2},
		Runs: []*jobRun{{Run: n5, Result: v1alpha1.JobComplete, Finished: slotAt(7)}, {Run: n10}}}
	observed := []runtime.State{
		{UID: "a", App: "report", Instance: jobInstance("report", n10, 0), PID: 10},
		{UID: "b", App: "report", Instance: jobInstance("report", n10, 1), PID: 11, Exit: &v1alpha1.ExitStatus{Code: 1}},
	}
	desired := &v1alpha1.SourcedApp{App: *app, Path: "report.yaml"}
	in := statusInput{desired: desired, revision: "r1", generation: 3, job: job, observed: observed, nodeMatches: true,
		sourceRevision: "abc", now: slotAt(11), pass: input{app: app}}
	d := deriveCronJob(in, nil)
	s := d.cron.Status
	switch {
	case len(s.Active) != 1 || s.Active[0] != runName("report", n10):
		t.Fatalf("active %v", s.Active)
	case !s.LastScheduleTime.Equal(slotAt(10)) || !s.LastSuccessfulTime.Equal(slotAt(7)) || !s.NextScheduleTime.Equal(slotAt(15)) || s.MissedSchedules != 2:
		t.Fatalf("times %+v", s)
	case s.Source != "report.yaml" || s.SourceRevision != "abc" || s.ObservedGeneration != 3 || s.Revision != "r1":
		t.Fatalf("source %+v", s)
	case len(s.Runs) != 2 || s.Runs[0].Run != n10 || s.Runs[0].Active != 1 || s.Runs[1].Result != v1alpha1.JobComplete ||
		s.Runs[0].Labels["team"] != "data" || s.Runs[1].Labels["team"] != "data":
		t.Fatalf("runs %+v", s.Runs)
	case len(s.Conditions) != 2 || s.Conditions[0].Reason != "Scheduled" || !strings.Contains(s.Conditions[0].Message, "2000-01-01T00:15:00Z") ||
		s.Conditions[1].Type != v1alpha1.ConditionManifestValid || s.Conditions[1].Status != v1alpha1.ConditionTrue:
		t.Fatalf("conditions %+v", s.Conditions)
	}
	// A later pass keeps the transition times of unchanged conditions,
	// and a file error turns ManifestValid False from now.
	in.now, in.fileErr = slotAt(12), &v1alpha1.FileError{File: "report.yaml", Reason: v1alpha1.ReasonInvalid, Message: "bad"}
	s = deriveCronJob(in, d.cron).cron.Status
	if c := s.Conditions; !c[0].LastTransitionTime.Equal(slotAt(11)) || c[1].Status != v1alpha1.ConditionFalse || !c[1].LastTransitionTime.Equal(slotAt(12)) ||
		!strings.Contains(c[1].Message, "running the last valid version") {
		t.Fatalf("conditions %+v", c)
	}
	// Not on this host: no next time, Scheduled False.
	in.nodeMatches, in.fileErr = false, nil
	s = deriveCronJob(in, nil).cron.Status
	if s.NextScheduleTime != nil || s.Conditions[0].Status != v1alpha1.ConditionFalse {
		t.Fatalf("not on this host: %+v", s)
	}
	// Removed (its processes stopping): shown from the spec last applied.
	in.desired, in.applied, in.nodeMatches, in.job = nil, app, true, &jobState{}
	s = deriveCronJob(in, nil).cron.Status
	if s.Source != "" || s.Conditions[0].Message != "no next slot" || s.NextScheduleTime != nil {
		t.Fatalf("removed: %+v", s)
	}
}
