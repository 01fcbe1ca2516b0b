package main

import (
	"fmt"
	"maps"
	"slices"
	"time"

	"proclet.dev/proclet/apis/v1alpha1"
)

// Invariant 5, of the Jobs and CronJobs: a run is made once (a finished
// Job is never run again, one slot never makes two runs, whatever the
// daemon kills), a CronJob under Forbid never runs two runs at once, and
// every Job converges to a finished run of its newest file.

// checkJobsConverged is invariant 5's convergence: every Job and CronJob
// of the model is in the API with its newest file's command, no other is;
// each Job's current run (of its newest revision) has finished, complete
// or failed.
func checkJobsConverged(f *jobFleet, jobs []v1alpha1.Job, crons []v1alpha1.CronJob) []string {
	var out []string
	got := map[string][]string{}
	finished := map[string]bool{}
	generations := map[string]string{}
	for _, j := range jobs {
		got[j.Metadata.Name] = j.Spec.Command
		if j.Status != nil {
			finished[j.Metadata.Name] = currentRunFinished(j.Status)
			if j.Metadata.Generation != j.Status.ObservedGeneration {
				generations[j.Metadata.Name] = fmt.Sprintf("metadata.generation %d, status.observedGeneration %d", j.Metadata.Generation, j.Status.ObservedGeneration)
			}
		}
	}
	for _, c := range crons {
		got[c.Metadata.Name] = c.Spec.JobTemplate.Spec.Command
		finished[c.Metadata.Name] = true
	}
	for _, n := range slices.Sorted(maps.Keys(f.jobs)) {
		j := f.jobs[n]
		cmd, ok := got[n]
		switch {
		case !ok:
			out = append(out, fmt.Sprintf("job %s: in the manifests, not in the API", n))
		case !slices.Equal(cmd, f.command(j)):
			out = append(out, fmt.Sprintf("job %s: command %q, the file says %q", n, cmd, f.command(j)))
		case generations[n] != "":
			out = append(out, fmt.Sprintf("job %s: %s", n, generations[n]))
		case !finished[n]:
			out = append(out, fmt.Sprintf("job %s: the run of its newest revision has not finished", n))
		}
	}
	for _, n := range slices.Sorted(maps.Keys(got)) {
		if f.jobs[n] == nil {
			out = append(out, fmt.Sprintf("job %s: removed from the manifests, still in the API", n))
		}
	}
	return out
}

// currentRunFinished reports whether s's current run has a result.
func currentRunFinished(s *v1alpha1.JobStatus) bool {
	for _, r := range s.Runs {
		if r.Run == s.Run && r.Revision == s.Revision {
			return r.Result != ""
		}
	}
	return false
}

// checkRunsOnce is invariant 5's run-once part, over every process start
// of the Jobs and CronJobs named in names: an instance NAME-RUN-INDEX
// starts a second process only after its previous one was killed by the
// chaos (a retry). Otherwise the previous one ran to its end (exit 0: its
// index succeeded, the run must not run it again) or still ran (two
// processes of one instance). killed are the kill times by pid.
func checkRunsOnce(marks []startMark, killed map[int][]time.Time, names map[string]bool) []string {
	var out []string
	prev := map[string]startMark{}
	for _, m := range marks {
		job, _, ok := runOfInstance(m.instance)
		if !ok || !names[job] {
			continue // a Job removed since: its name is not reused
		}
		p, seen := prev[m.instance]
		prev[m.instance] = m
		if !seen || killedAfter(killed[p.pid], p.start) {
			continue
		}
		out = append(out, fmt.Sprintf("%s started again (pid %d at %s) after pid %d (started %s), which no chaos killed: a run index run twice",
			m.instance, m.pid, m.start.Format(time.StampMilli), p.pid, p.start.Format(time.StampMilli)))
	}
	return out
}

// killedAfter reports whether one of the kill times is not before start.
func killedAfter(kills []time.Time, start time.Time) bool {
	for _, k := range kills {
		if !k.Before(start) {
			return true
		}
	}
	return false
}

// checkCronRuns is invariant 5 for one CronJob: no run starts before its
// slot (its number, in minutes), none after it finished, and under
// Forbid no run starts before the previous one finished.
// readAt is when c was read: a run active then may have finished and let
// the next start since.
func checkCronRuns(c v1alpha1.CronJob, forbid bool, marks []startMark, readAt time.Time) []string {
	if c.Status == nil {
		return nil
	}
	name := c.Metadata.Name
	finished := map[int64]*time.Time{}
	for _, r := range c.Status.Runs {
		finished[r.Run] = r.FinishedAt
	}
	starts := map[int64][]time.Time{}
	var out []string
	for _, m := range marks {
		job, run, ok := runOfInstance(m.instance)
		if !ok || job != name {
			continue
		}
		starts[run] = append(starts[run], m.start)
		if slot := time.Unix(run*60, 0); m.start.Before(slot) {
			out = append(out, fmt.Sprintf("cronjob %s: %s started at %s, before its slot %s", name, m.instance, m.start.Format(time.StampMilli), slot.UTC().Format(time.RFC3339)))
		}
		if f := finished[run]; f != nil && m.start.After(*f) {
			out = append(out, fmt.Sprintf("cronjob %s: %s started at %s, after its run finished at %s: the slot ran twice", name, m.instance, m.start.Format(time.StampMilli), f.Format(time.StampMilli)))
		}
	}
	if !forbid {
		return out
	}
	runs := slices.Sorted(maps.Keys(starts))
	for i := 1; i < len(runs); i++ {
		before, ok := finished[runs[i-1]]
		switch {
		case !ok:
			continue // not kept: the history limits are above what a run makes
		case before == nil:
			if !slices.ContainsFunc(starts[runs[i]], func(s time.Time) bool { return s.Before(readAt) }) {
				continue
			}
			out = append(out, fmt.Sprintf("cronjob %s (Forbid): run %d started while run %d was still active", name, runs[i], runs[i-1]))
		case slices.ContainsFunc(starts[runs[i]], func(s time.Time) bool { return s.Before(*before) }):
			out = append(out, fmt.Sprintf("cronjob %s (Forbid): run %d started before run %d finished at %s", name, runs[i], runs[i-1], before.Format(time.StampMilli)))
		}
	}
	return out
}
