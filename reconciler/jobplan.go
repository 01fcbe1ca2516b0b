package reconciler

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"time"

	"proclet.dev/proclet/apis/v1alpha1"
	"proclet.dev/proclet/runtime"
)

// Reasons of the runs the planner ends before they finish by themselves,
// and the exit reason of a process stopped at its run's deadline.
const (
	reasonSuperseded = "Superseded"
	reasonRemoved    = "Removed"
)

// planJob decides what to do for one Job: at most one run per revision
// (the newest run is the current one), a new revision stops the current
// run (Failed, Superseded) before its own run starts, a removed Job stops
// its processes and is forgotten. Pure, as plan is.
func planJob(in input) output {
	out, ok := jobPassOutput(in)
	if !ok {
		return out
	}
	var js *v1alpha1.JobSpec
	if in.app != nil {
		js = in.app.Job
	}
	p := newJobPlanner(in, js, &out)
	if js != nil {
		p.adopt() // before absorb: an adopted run's exits count in it
	}
	p.absorb()
	if js == nil {
		p.remove()
		return out
	}
	p.stopStray()
	cur := out.job.latest()
	if cur == nil || cur.Revision != in.revision {
		if cur != nil && !cur.finished() {
			p.stopRun(cur, reasonSuperseded, fmt.Sprintf("superseded by revision %s", in.revision))
		}
		if p.liveCount() == 0 && in.waiting == "" && in.replicas > 0 {
			var n int64 = 1
			if cur != nil {
				n = cur.Run + 1
			}
			p.newRun(n, in.revision, time.Time{})
		}
	}
	for _, run := range out.job.Runs {
		p.planRun(run)
	}
	p.trim(maxJobRuns)
	return out
}

// jobPassOutput is the output a Job's or CronJob's pass starts from (its
// runs cloned: the input is never modified), and whether anything may be
// decided: nothing is before the first snapshot, nor for a held object.
// A Job has no ordinals: the slots of an App it was are dropped.
func jobPassOutput(in input) (output, bool) {
	out := output{job: in.job.clone()}
	if !in.synced || in.held {
		out.slots = maps.Clone(in.slots)
		return out, false
	}
	return out, true
}

// jobPlanner plans the runs of one Job or CronJob in one pass (see the
// top of job.go): out.job holds the runs it changes.
type jobPlanner struct {
	in   input
	out  *output
	name string
	spec *v1alpha1.AppSpec // the process spec: backoff, restart policy; nil once removed
	p    jobParams
	live map[int64][]runtime.State // running processes by run (0: not a run's)
	// stopped are the processes this pass already stops.
	stopped map[string]bool
}

// newJobPlanner plans with js (nil: the object was removed) the runs in
// out.job.
func newJobPlanner(in input, js *v1alpha1.JobSpec, out *output) *jobPlanner {
	p := &jobPlanner{in: in, out: out, p: paramsOf(js), stopped: map[string]bool{}}
	if out.job == nil {
		out.job = &jobState{}
	}
	if in.app != nil {
		p.name, p.spec = in.app.Metadata.Name, &in.app.Spec
	} else if len(in.observed) > 0 {
		p.name = in.observed[0].App // removed: its instances' app
	}
	p.live = liveByRun(p.name, in.observed)
	return p
}

func (p *jobPlanner) liveCount() int {
	n := 0
	for _, l := range p.live {
		n += len(l)
	}
	return n
}

// absorb records every exited process in its run's index, and releases
// it: an exit 0 marks the index succeeded, a failure counts in the run's
// failed and retries the index after its backoff (a new process under
// restartPolicy Never, the same one under OnFailure). A stop of ours is
// no failure; a stop at the run's deadline is.
func (p *jobPlanner) absorb() {
	for _, s := range p.in.observed {
		if s.Running() {
			continue
		}
		p.out.actions = append(p.out.actions, action{kind: actRelease, uid: s.UID})
		if s.Exit.Reason == ReasonStopped {
			p.out.note(false, "Stopped", s.Instance, fmt.Sprintf("stopped (pid %d)", s.PID))
		} else {
			p.out.note(failedExit(s.Exit), "Exited", s.Instance, exitMessage(s))
		}
		n, _ := runOf(s.App, s.Instance)
		run := p.out.job.find(n)
		if run == nil {
			continue
		}
		sl, ok := run.Slots[s.Ordinal]
		if !ok || sl.UID != s.UID {
			continue
		}
		sl.LastExit = s.Exit
		switch {
		case s.Exit.Reason == ReasonStopped:
		case !failedExit(s.Exit):
			run.Done.add(s.Ordinal)
			sl.Done = true
		default:
			run.Failed++
			if !run.finished() && p.spec != nil {
				sl.Failures, sl.NextStartAt = backoffFor(p.spec).failed(sl.Failures, s.StartedAt, s.Exit.At)
				sl.Crashed = true
				if p.spec.RestartPolicy != v1alpha1.RestartOnFailure {
					sl.UID = "" // Never: a new process for the index
				}
				if d := sl.NextStartAt.Sub(p.in.now); d > 0 {
					p.out.note(true, "BackOff", s.Instance, fmt.Sprintf("back-off %s retrying failed index %d", d.Round(time.Millisecond), s.Ordinal))
				}
			}
		}
		run.Slots[s.Ordinal] = sl
	}
}

// adopt makes a run of every observed process (running, or exited while
// no daemon ran) at the desired revision whose run is not known: its
// state was lost with a daemon killed before it saved. The run goes on,
// and an exit recorded meanwhile counts in it, instead of the index being
// run again. A process of a known run whose index has no process in the
// record (started after the last save) is that index's.
func (p *jobPlanner) adopt() {
	for _, s := range p.in.observed {
		n, ok := runOf(s.App, s.Instance)
		if !ok || n == 0 {
			continue
		}
		p.adoptInto(s, n, func() *jobRun {
			if cur := p.out.job.latest(); cur != nil && cur.Revision == p.in.revision || s.Revision != p.in.revision {
				return nil // a stray: stopStray stops it
			}
			return &jobRun{Run: n, Revision: s.Revision, Start: s.StartedAt}
		})
	}
}

// adoptInto makes the observed process s part of its run n: the run is
// made by mk when it is not kept (nil from mk: s is left alone), and s is
// its index's process when the record has none for the index (s started
// after the last save).
func (p *jobPlanner) adoptInto(s runtime.State, n int64, mk func() *jobRun) {
	run := p.out.job.find(n)
	if run == nil {
		if run = mk(); run == nil {
			return
		}
		p.out.job.Runs = append(p.out.job.Runs, run)
		slices.SortFunc(p.out.job.Runs, func(a, b *jobRun) int { return cmp.Compare(a.Run, b.Run) })
		p.out.note(false, "RunAdopted", runName(p.name, n), "adopted: its process outlived the daemon's record of it")
	}
	if run.Slots == nil {
		run.Slots = map[int]slot{}
	}
	if sl := run.Slots[s.Ordinal]; sl.UID == "" && !run.finished() && !run.Done.has(s.Ordinal) {
		sl.UID, sl.Revision, sl.LastStartAt, sl.NextStartAt = s.UID, s.Revision, s.StartedAt, time.Time{}
		run.Slots[s.Ordinal] = sl
	}
}

// stopStray stops the running processes that belong to no run kept.
func (p *jobPlanner) stopStray() {
	for n, live := range p.live {
		if run := p.out.job.find(n); run == nil || run.Expired {
			p.stop(live, ReasonStopped, "not a run of the job")
		}
	}
}

// remove is the pass of a removed object: its active runs end (Failed,
// Removed), its processes stop, and once none runs it is forgotten.
func (p *jobPlanner) remove() {
	for _, run := range p.out.job.Runs {
		if !run.finished() {
			p.finish(run, v1alpha1.JobFailed, reasonRemoved, "removed")
		}
	}
	p.stopAll(ReasonStopped, "removed")
	p.out.forget = p.in.app == nil && p.liveCount() == 0
}

// drop forgets run, a finished run with nothing running (a history
// limit), and reports whether it did.
func (p *jobPlanner) drop(run *jobRun) bool {
	if !run.finished() || len(p.live[run.Run]) > 0 {
		return false
	}
	p.out.job.Runs = slices.DeleteFunc(p.out.job.Runs, func(r *jobRun) bool { return r == run })
	return true
}

// stopAll stops every running process.
func (p *jobPlanner) stopAll(reason, message string) {
	for _, live := range p.live {
		p.stop(live, reason, message)
	}
}

func (p *jobPlanner) stop(live []runtime.State, reason, message string) {
	for _, s := range live {
		if !s.Stopping && !p.stopped[s.UID] {
			p.stopped[s.UID] = true
			p.out.actions = append(p.out.actions, action{kind: actStop, ordinal: s.Ordinal, uid: s.UID, instance: s.Instance, reason: reason, message: message})
		}
	}
}

// newRun adds run number n of revision rev (scheduled: a CronJob's slot,
// zero for a Job), started now, and returns it.
func (p *jobPlanner) newRun(n int64, rev string, scheduled time.Time) *jobRun {
	run := &jobRun{Run: n, Revision: rev, Scheduled: scheduled, Start: p.in.now, Slots: map[int]slot{}}
	p.out.job.Runs = append(p.out.job.Runs, run)
	p.out.note(false, "JobStarted", runName(p.name, n), fmt.Sprintf("run %d of revision %s started", n, rev))
	return run
}

// stopRun ends an active run now (Failed, reason) and stops its
// processes.
func (p *jobPlanner) stopRun(run *jobRun, reason, message string) {
	p.out.note(false, "Stopping", runName(p.name, run.Run), "stopping: "+message)
	p.finish(run, v1alpha1.JobFailed, reason, message)
	p.stop(p.live[run.Run], ReasonStopped, message)
}

// finish ends run with result, and says so.
func (p *jobPlanner) finish(run *jobRun, result v1alpha1.JobResult, reason, message string) {
	run.Result, run.Reason, run.Message, run.Finished = result, reason, message, p.in.now
	name := runName(p.name, run.Run)
	if result == v1alpha1.JobComplete {
		p.out.job.LastSuccess = p.in.now
		p.out.note(false, "JobCompleted", name, message)
		return
	}
	if reason != reasonSuperseded && reason != reasonRemoved {
		p.out.note(true, "JobFailed", name, fmt.Sprintf("failed (%s): %s", reason, message))
	}
}

// planRun drives one run: it ends it when it completed, failed too often
// or passed its deadline (stopping what still runs), starts its indexes
// within parallelism and their backoff, and forgets a finished run's
// details once its ttl passed.
func (p *jobPlanner) planRun(run *jobRun) {
	if run.Expired {
		return
	}
	if !run.finished() {
		p.progress(run)
	}
	if !run.finished() {
		for _, s := range p.live[run.Run] {
			if overMemoryLimit(s) { // a failure: retried through the backoff
				p.stop([]runtime.State{s}, ReasonMemoryLimitExceeded, memoryLimitMessage(s, p.in.app))
			}
		}
		p.startIndexes(run)
		return
	}
	reason := ReasonStopped
	if run.Reason == v1alpha1.ReasonDeadlineExceeded {
		reason = v1alpha1.ReasonDeadlineExceeded
	}
	p.stop(p.live[run.Run], reason, fmt.Sprintf("run %s: %s", run.Result, run.Message))
	compactSlots(run)
	if p.p.hasTTL && len(p.live[run.Run]) == 0 {
		if at := run.Finished.Add(p.p.ttl); p.in.now.Before(at) {
			p.out.requeueAt(p.in.now, at)
		} else {
			run.Expired, run.Slots, run.Done = true, nil, nil
		}
	}
}

// compactSlots keeps at most maxKeptIndexes slots of a finished run: the
// indexes that did not succeed first, then the lowest succeeded ones (the
// others are in run.Done).
func compactSlots(run *jobRun) {
	if len(run.Slots) <= maxKeptIndexes {
		return
	}
	idxs := slices.Sorted(maps.Keys(run.Slots))
	slices.SortStableFunc(idxs, func(a, b int) int { return boolInt(run.Slots[a].Done) - boolInt(run.Slots[b].Done) })
	for _, idx := range idxs[maxKeptIndexes:] {
		delete(run.Slots, idx)
	}
}

// progress finishes run when its outcome is known: complete at the
// completions-th success, failed at the backoffLimit+1st failure or past
// activeDeadlineSeconds (then it asks to look again at the deadline).
func (p *jobPlanner) progress(run *jobRun) {
	now := p.in.now
	switch done := run.Done.count(); {
	case done >= p.p.completions:
		p.finish(run, v1alpha1.JobComplete, "Completed", fmt.Sprintf("completed: %d of %d succeeded", done, p.p.completions))
	case run.Failed > p.p.backoffLimit:
		p.finish(run, v1alpha1.JobFailed, v1alpha1.ReasonBackoffLimitExceeded,
			fmt.Sprintf("%d failed processes, more than backoffLimit %d", run.Failed, p.p.backoffLimit))
	case p.p.hasDeadline && !now.Before(run.Start.Add(p.p.deadline)):
		p.finish(run, v1alpha1.JobFailed, v1alpha1.ReasonDeadlineExceeded,
			fmt.Sprintf("the run was active longer than activeDeadlineSeconds (%s)", p.p.deadline))
	case p.p.hasDeadline:
		p.out.requeueAt(now, run.Start.Add(p.p.deadline))
	}
}

// startIndexes starts the indexes of run that still need a success, at
// most parallelism running or waiting out a backoff at once: first the
// indexes to retry (in order), then new ones (in order). Nothing starts
// while a dependency is unmet or the node selector does not match.
func (p *jobPlanner) startIndexes(run *jobRun) {
	in := p.in
	if in.waiting != "" || in.replicas == 0 {
		return
	}
	running := map[int]bool{}
	for _, s := range p.live[run.Run] {
		running[s.Ordinal] = true
	}
	active := len(running)
	for _, idx := range slices.Sorted(maps.Keys(run.Slots)) {
		sl := run.Slots[idx]
		if run.Done.has(idx) || running[idx] {
			continue
		}
		switch {
		case sl.NextStartAt.After(in.now):
			active++
			p.out.requeueAt(in.now, sl.NextStartAt)
		case active < p.p.parallelism:
			p.start(run, idx, "retrying index after exit")
			active++
		}
	}
	for idx := 0; idx < p.p.completions && active < p.p.parallelism; idx++ {
		if _, ok := run.Slots[idx]; ok || run.Done.has(idx) {
			continue
		}
		p.start(run, idx, fmt.Sprintf("run %d", run.Run))
		active++
	}
}

// start asks for index idx of run.
func (p *jobPlanner) start(run *jobRun, idx int, message string) {
	if run.Slots == nil { // a run restored with none
		run.Slots = map[int]slot{}
	}
	sl := run.Slots[idx]
	if sl.Crashed {
		sl.Restarts++
	}
	sl.Revision = run.Revision
	sl.Crashed, sl.Done, sl.NextStartAt = false, false, time.Time{}
	run.Slots[idx] = sl
	p.out.actions = append(p.out.actions, action{kind: actStart, ordinal: idx, run: run.Run,
		instance: jobInstance(p.name, run.Run, idx), message: message})
}

// trim keeps at most limit runs, dropping the oldest finished ones with
// nothing running.
func (p *jobPlanner) trim(limit int) {
	for _, run := range slices.Clone(p.out.job.Runs) {
		if len(p.out.job.Runs) <= limit || run == p.out.job.latest() {
			return
		}
		p.drop(run)
	}
}
