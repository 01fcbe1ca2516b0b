package reconciler

import (
	"fmt"
	"time"

	"proclet.dev/proclet/apis/v1alpha1"
)

// The derivation of a CronJob's status (pure, as deriveStatus) and its
// readers: its active runs, the schedule's times and missed count, its
// kept runs newest first, and the instances of every kept run.

// deriveCronJob is deriveStatus for a CronJob; prev is its last derived
// view (conditions keep their lastTransitionTime).
func deriveCronJob(in statusInput, prev *v1alpha1.CronJob) derivedStatus {
	src := in.applied
	if in.desired != nil {
		src = &in.desired.App
	}
	cj := cronOf(src)
	name := cj.Metadata.Name
	s := v1alpha1.CronJobStatus{Active: []string{}, Revision: in.revision, ObservedGeneration: in.generation, Runs: []v1alpha1.JobRun{}}
	if in.desired != nil {
		s.Source, s.SourceRevision = in.desired.Path, in.sourceRevision
	}
	live := liveByRun(name, in.observed)
	var runs []*jobRun
	if in.job != nil {
		runs = in.job.Runs
		s.LastSuccessfulTime = timePtr(in.job.LastSuccess)
	}
	for i := len(runs) - 1; i >= 0; i-- {
		run := runs[i]
		if !run.finished() {
			s.Active = append(s.Active, runName(name, run.Run))
		}
		if !run.Expired {
			v := runView(name, run, live[run.Run])
			v.Labels = cj.Spec.JobTemplate.Metadata.Labels // shared: copyRun clones it for readers
			s.Runs = append(s.Runs, v)
		}
	}
	cs := cronStateOf(in.job)
	if cs != nil {
		s.LastScheduleTime, s.MissedSchedules = timePtr(cs.Last), cs.Missed
		if !cronOff(in, cj) {
			s.NextScheduleTime = timePtr(cs.Next)
		}
	}
	s.Conditions = cronConditions(in, cj, cs, prev)
	cj.Status = &s
	return derivedStatus{cron: cj, instances: jobInstances(in, name, runs, live)}
}

// cronOff reports whether cj makes no run now: suspended, or not on this
// host.
func cronOff(in statusInput, cj *v1alpha1.CronJob) bool {
	return (cj.Spec.Suspend != nil && *cj.Spec.Suspend) || !in.nodeMatches
}

// cronConditions are Scheduled (True while slots make runs, else False
// saying why: Suspended, NodeSelectorMismatch, InvalidSchedule) and
// ManifestValid.
func cronConditions(in statusInput, cj *v1alpha1.CronJob, cs *cronState, prev *v1alpha1.CronJob) []v1alpha1.Condition {
	var conds []v1alpha1.Condition
	switch {
	case cs != nil && cs.Error != "":
		conds = append(conds, cond(v1alpha1.ConditionScheduled, v1alpha1.ConditionFalse, "InvalidSchedule", cs.Error))
	case cj.Spec.Suspend != nil && *cj.Spec.Suspend:
		conds = append(conds, cond(v1alpha1.ConditionScheduled, v1alpha1.ConditionFalse, "Suspended", "suspend is true: no new run is made"))
	case in.pass.app != nil && !in.nodeMatches:
		conds = append(conds, notScheduled(in.pass.app.Spec.NodeSelector, in.nodeLabels))
	default:
		conds = append(conds, cond(v1alpha1.ConditionScheduled, v1alpha1.ConditionTrue, "Scheduled", cronNextMessage(cs)))
	}
	if in.fileErr != nil {
		conds = append(conds, cond(v1alpha1.ConditionManifestValid, v1alpha1.ConditionFalse, in.fileErr.Reason,
			in.fileErr.Error()+"; running the last valid version"))
	} else {
		conds = append(conds, cond(v1alpha1.ConditionManifestValid, v1alpha1.ConditionTrue, "Applied", ""))
	}
	var last []v1alpha1.Condition
	if prev != nil && prev.Status != nil {
		last = prev.Status.Conditions
	}
	keepTransitions(conds, last, in.now)
	return conds
}

func cronNextMessage(cs *cronState) string {
	if cs == nil || cs.Next.IsZero() {
		return "no next slot"
	}
	return fmt.Sprintf("next run at %s", stamp(cs.Next))
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}
