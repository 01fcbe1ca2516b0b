package reconciler

import (
	"cmp"
	"fmt"
	"maps"
	"slices"

	"proclet.dev/proclet/apis/v1alpha1"
	"proclet.dev/proclet/runtime"
)

// The derivation of a Job's status and instances (pure, as deriveStatus):
// the current run is the newest run of the desired revision; the runs
// kept are listed newest first; the instances are every kept run's
// processes, running or as their index's slot remembers them.

// jobOf is the Job a carrier carries, with no status.
func jobOf(app *v1alpha1.App) *v1alpha1.Job {
	c := app.DeepCopy()
	j := &v1alpha1.Job{APIVersion: c.APIVersion, Kind: v1alpha1.KindJob, Metadata: c.Metadata}
	if c.Job != nil {
		j.Spec = *c.Job
	}
	if j.APIVersion == "" {
		j.APIVersion = v1alpha1.GroupVersion
	}
	return j
}

// cronOf is the CronJob a carrier carries, with no status.
func cronOf(app *v1alpha1.App) *v1alpha1.CronJob {
	c := app.DeepCopy()
	out := &v1alpha1.CronJob{APIVersion: c.APIVersion, Kind: v1alpha1.KindCronJob, Metadata: c.Metadata}
	if c.CronJob != nil {
		out.Spec = *c.CronJob
	}
	if out.APIVersion == "" {
		out.APIVersion = v1alpha1.GroupVersion
	}
	return out
}

// deriveJob is deriveStatus for a Job; prev is its last derived view
// (conditions keep their lastTransitionTime).
func deriveJob(in statusInput, prev *v1alpha1.Job) derivedStatus {
	src := in.applied
	if in.desired != nil {
		src = &in.desired.App
	}
	j := jobOf(src)
	name := j.Metadata.Name
	s := v1alpha1.JobStatus{Revision: in.revision, ObservedGeneration: in.generation, Runs: []v1alpha1.JobRun{}}
	if in.desired != nil {
		s.Source, s.SourceRevision = in.desired.Path, in.sourceRevision
	}
	live := liveByRun(name, in.observed)
	var cur *jobRun
	var runs []*jobRun
	if in.job != nil {
		runs = in.job.Runs
	}
	for i := len(runs) - 1; i >= 0; i-- {
		run := runs[i]
		if cur == nil && run.Revision == in.revision && i == len(runs)-1 {
			cur = run
		}
		if !run.Expired {
			s.Runs = append(s.Runs, runView(name, run, live[run.Run]))
		}
	}
	if cur != nil {
		s.Run = cur.Run
		if !cur.Expired {
			v := runView(name, cur, live[cur.Run])
			s.Active, s.Succeeded, s.Failed, s.StartTime, s.CompletionTime = v.Active, v.Succeeded, v.Failed, v.StartTime, v.CompletionTime
			if j.Spec.CompletionMode == v1alpha1.Indexed {
				s.CompletedIndexes = cur.Done.String()
			}
		}
	}
	s.Conditions = jobConditions(in, cur, &s, prev)
	j.Status = &s
	return derivedStatus{job: j, instances: jobInstances(in, name, runs, live)}
}

// runView is run as the API shows it.
func runView(job string, run *jobRun, live []runtime.State) v1alpha1.JobRun {
	v := v1alpha1.JobRun{Name: runName(job, run.Run), Run: run.Run, Revision: run.Revision,
		Succeeded: int32(run.Done.count()), Failed: run.Failed, Result: run.Result, Reason: run.Reason, Message: run.Message}
	for _, o := range live {
		if !o.Stopping {
			v.Active++
		}
	}
	start := run.Start
	v.StartTime = &start
	if !run.Scheduled.IsZero() {
		t := run.Scheduled
		v.ScheduledTime = &t
	}
	if run.finished() {
		t := run.Finished
		v.FinishedAt = &t
		if run.Result == v1alpha1.JobComplete {
			v.CompletionTime = &t
		}
	}
	return v
}

// jobConditions are Complete (True once the current run completed, else
// False saying why), Failed (when the current run failed), ManifestValid
// and Scheduled (when the node selector does not match).
func jobConditions(in statusInput, cur *jobRun, s *v1alpha1.JobStatus, prev *v1alpha1.Job) []v1alpha1.Condition {
	var conds []v1alpha1.Condition
	switch {
	case cur != nil && cur.Result == v1alpha1.JobComplete:
		conds = append(conds, cond(v1alpha1.ConditionComplete, v1alpha1.ConditionTrue, "Completed", fmt.Sprintf("run %d: %s", cur.Run, cur.Message)))
	case cur != nil && cur.finished():
		conds = append(conds, cond(v1alpha1.ConditionComplete, v1alpha1.ConditionFalse, "Failed", fmt.Sprintf("run %d failed", cur.Run)),
			cond(v1alpha1.ConditionFailed, v1alpha1.ConditionTrue, cur.Reason, fmt.Sprintf("run %d: %s", cur.Run, cur.Message)))
	case in.pass.app != nil && !in.nodeMatches:
		conds = append(conds, cond(v1alpha1.ConditionComplete, v1alpha1.ConditionFalse, string(v1alpha1.AppNotScheduled), "the job does not run on this host"))
	case cur != nil:
		conds = append(conds, cond(v1alpha1.ConditionComplete, v1alpha1.ConditionFalse, "Running",
			fmt.Sprintf("run %d: %d active, %d succeeded, %d failed", cur.Run, s.Active, s.Succeeded, s.Failed)))
	case in.pass.waiting != "":
		conds = append(conds, cond(v1alpha1.ConditionComplete, v1alpha1.ConditionFalse, "WaitingForDependency", in.pass.waiting))
	default:
		conds = append(conds, cond(v1alpha1.ConditionComplete, v1alpha1.ConditionFalse, "Pending", fmt.Sprintf("revision %s has not started yet", in.revision)))
	}
	if in.fileErr != nil {
		conds = append(conds, cond(v1alpha1.ConditionManifestValid, v1alpha1.ConditionFalse, in.fileErr.Reason,
			in.fileErr.Error()+"; running the last valid version"))
	} else {
		conds = append(conds, cond(v1alpha1.ConditionManifestValid, v1alpha1.ConditionTrue, "Applied", ""))
	}
	if app := in.pass.app; app != nil && !in.nodeMatches {
		conds = append(conds, notScheduled(app.Spec.NodeSelector, in.nodeLabels))
	}
	var last []v1alpha1.Condition
	if prev != nil && prev.Status != nil {
		last = prev.Status.Conditions
	}
	keepTransitions(conds, last, in.now)
	return conds
}

// jobInstances are the instances of the kept runs: each running process,
// and each index a slot remembers with no process (succeeded, failed,
// waiting out its backoff), sorted by run and index. A running process of
// no kept run is listed too (it is being stopped).
func jobInstances(in statusInput, name string, runs []*jobRun, live map[int64][]runtime.State) []v1alpha1.Instance {
	var insts []v1alpha1.Instance
	kept := map[int64]bool{}
	for _, run := range runs {
		if run.Expired {
			continue
		}
		kept[run.Run] = true
		running := map[int]bool{}
		for _, o := range live[run.Run] {
			inst := runningInstance(o)
			if sl, ok := run.Slots[o.Ordinal]; ok && sl.UID == o.UID {
				inst.Restarts, inst.LastExit = sl.Restarts, sl.LastExit
			}
			insts = append(insts, inst)
			running[o.Ordinal] = true
		}
		for _, idx := range slices.Sorted(maps.Keys(run.Slots)) {
			if !running[idx] {
				insts = append(insts, jobPendingInstance(in, name, run, idx, run.Slots[idx]))
			}
		}
	}
	for n, l := range live {
		if !kept[n] {
			for _, o := range l {
				insts = append(insts, runningInstance(o))
			}
		}
	}
	slices.SortStableFunc(insts, func(a, b v1alpha1.Instance) int {
		ra, _ := runOf(name, a.Name)
		rb, _ := runOf(name, b.Name)
		return cmp.Or(cmp.Compare(ra, rb), cmp.Compare(ordinalOf(a.Name), ordinalOf(b.Name)))
	})
	return insts
}

// jobPendingInstance is index idx of run when no process stands for it.
func jobPendingInstance(in statusInput, name string, run *jobRun, idx int, sl slot) v1alpha1.Instance {
	inst := v1alpha1.Instance{Name: jobInstance(name, run.Run, idx), App: name, UID: sl.UID, Revision: run.Revision,
		Phase: v1alpha1.PhasePending, Reason: "Waiting", Restarts: sl.Restarts, LastExit: sl.LastExit,
		Ports: map[string]int32{}, Listening: []int32{}}
	switch {
	case run.Done.has(idx):
		inst.Phase, inst.Reason = v1alpha1.PhaseSucceeded, "Completed"
	case sl.StartError != "":
		inst.Phase, inst.Reason, inst.Message = v1alpha1.PhaseFailed, sl.StartReason, sl.StartError
		if !run.finished() {
			next := sl.NextStartAt
			inst.NextStartAt = &next
		}
	case run.finished():
		inst.Phase, inst.Reason = v1alpha1.PhaseFailed, run.Reason
		if sl.LastExit != nil {
			inst.Reason = sl.LastExit.Reason
		}
	case sl.NextStartAt.After(in.now):
		next := sl.NextStartAt
		inst.Reason, inst.NextStartAt = "BackOff", &next
		inst.Message = fmt.Sprintf("back-off retrying failed index %d", idx)
	}
	return inst
}
