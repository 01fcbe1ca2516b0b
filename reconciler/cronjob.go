package reconciler

import (
	"fmt"
	"math"
	"time"

	"proclet.dev/proclet/apis/v1alpha1"
	"proclet.dev/proclet/server"
)

// The CronJob controller: one pass of a CronJob (planCronJob, pure as
// plan is) decides its schedule (planCron, cronplan.go) and drives its
// runs with the Job run machinery (job.go): a run is made for a slot,
// numbered by the slot's minute, its instances named NAME-RUN-INDEX.

// reasonReplaced is the reason of a run stopped under concurrencyPolicy
// Replace.
const reasonReplaced = "Replaced"

// cronState is what the daemon remembers of a CronJob's schedule, saved
// with its runs (jobState.Cron). Replaced, never mutated, once stored.
type cronState struct {
	// Last is lastScheduleTime, the slot of the last run made; Counted:
	// every slot up to it was made or counted missed; Skipped: the slot
	// last reported held back under Forbid.
	Last    time.Time `json:"last,omitzero"`
	Counted time.Time `json:"counted,omitzero"`
	Skipped time.Time `json:"skipped,omitzero"`
	// Missed counts the slots not run (saturating).
	Missed int64 `json:"missed,omitempty"`
	// Next is the next slot as the last pass saw it (zero: none).
	Next time.Time `json:"next,omitzero"`
	// Error says why the schedule could not be read ("" when it was).
	Error string `json:"error,omitempty"`
}

func init() {
	jobStatsHooks[v1alpha1.KindCronJob] = func(_ *Reconciler, _ string, st *appState, s *server.JobStats) {
		if cs := cronStateOf(st.job); cs != nil {
			s.NextSchedule, s.Missed = cs.Next, uint64(max(cs.Missed, 0))
		}
	}
}

// cronStateOf is the schedule state of s (nil: none yet).
func cronStateOf(s *jobState) *cronState {
	if s == nil {
		return nil
	}
	return s.Cron
}

// planCronJob decides what to do for one CronJob: the exits of its runs'
// processes, a run for a due slot (or the slot missed, held back or
// replacing the active runs), every kept run driven by the run planner,
// and the finished runs beyond the history limits forgotten.
func planCronJob(in input) output {
	out, ok := jobPassOutput(in)
	if !ok {
		return out
	}
	spec := in.app.CronJob
	p := newJobPlanner(in, &spec.JobTemplate.Spec, &out)
	p.adoptCron()
	p.absorb()
	p.stopStray()
	cs := cronState{}
	if prev := cronStateOf(in.job); prev != nil {
		cs = *prev
	}
	for _, run := range out.job.Runs {
		if !run.finished() {
			p.progress(run) // a run that just completed is active no more
		}
	}
	p.schedule(spec, &cs)
	for _, run := range out.job.Runs {
		p.planRun(run)
	}
	p.pruneCron(spec)
	out.job.Cron = &cs
	return out
}

// adoptCron makes a run of every observed process (running or exited)
// of a run not kept: the state file lost it (a daemon killed before it
// saved). Its number names its slot, so the slot is not run again, and
// the exit of a process that ended while no daemon ran counts in it.
func (p *jobPlanner) adoptCron() {
	for _, s := range p.in.observed {
		if n, ok := runOf(s.App, s.Instance); ok {
			p.adoptInto(s, n, func() *jobRun {
				return &jobRun{Run: n, Revision: s.Revision, Scheduled: slotOfRun(n, time.UTC), Start: s.StartedAt}
			})
		}
	}
}

// schedule applies planCron: the run of a due slot, the runs it
// replaces, the events, and when to look again.
func (p *jobPlanner) schedule(spec *v1alpha1.CronJobSpec, cs *cronState) {
	in := p.in
	sched, loc, err := cronSchedule(spec)
	if err != nil {
		if cs.Error != err.Error() {
			p.out.note(true, "InvalidSchedule", p.name, err.Error()+": no run is made")
		}
		cs.Error, cs.Next = err.Error(), time.Time{}
		return
	}
	ci := cronInput{spec: spec, schedule: sched, loc: loc, last: cs.Last, counted: cs.Counted, skipped: cs.Skipped,
		created: in.app.Metadata.CreationTimestamp, off: in.replicas == 0, now: in.now}
	for _, run := range p.out.job.Runs {
		ci.last = cronLatest(ci.last, slotOfRun(run.Run, loc))
		if !run.finished() {
			ci.active = append(ci.active, cronRun{run: run.Run, slot: slotOfRun(run.Run, loc)})
		}
	}
	d := planCron(ci)
	var held time.Time
	if !d.start.IsZero() && in.waiting != "" {
		// A run waiting for a dependency would hold the next ones: the
		// slot is missed instead.
		held, d.missed, d.start, d.last, d.stop = d.start, d.missed+1, time.Time{}, ci.last, nil
	}
	for _, n := range d.stop {
		if run := p.out.job.find(n); run != nil {
			p.out.note(false, "RunReplaced", runName(p.name, n), fmt.Sprintf("replaced by the run of %s", stamp(d.start)))
			p.stopRun(run, reasonReplaced, fmt.Sprintf("replaced by the run of %s (concurrencyPolicy Replace)", stamp(d.start)))
		}
	}
	if !d.start.IsZero() {
		n := cronRunOf(d.start)
		p.out.note(false, "RunStarted", runName(p.name, n), fmt.Sprintf("made for the slot of %s", stamp(d.start)))
		p.newRun(n, in.revision, d.start.UTC())
	}
	p.noteMissed(d, held)
	if d.newSkip {
		p.out.note(false, "RunSkipped", p.name, fmt.Sprintf("the slot of %s waits: a run is active (concurrencyPolicy Forbid)", stamp(d.skipped)))
	}
	cs.Last, cs.Counted, cs.Skipped, cs.Next, cs.Error = d.last.UTC(), d.counted.UTC(), d.skipped.UTC(), d.next.UTC(), ""
	cs.Missed = min(cs.Missed, math.MaxInt64-d.missed) + d.missed
	// Look again at the next slot, and within cronRecheck: the queue's
	// timers follow the monotonic clock, which a wall-clock jump or a
	// suspended host leaves behind.
	p.out.requeueAt(in.now, cronEarliest(d.requeue, in.now.Add(cronRecheck)))
}

// cronRecheck bounds the time between two passes of a CronJob, so that a
// slot is never later than that because the wall clock jumped (NTP, a
// host resumed from suspend) while the queue waited for a slot.
const cronRecheck = time.Minute

// cronEarliest is the earlier of a and b, zero counting as no time.
func cronEarliest(a, b time.Time) time.Time {
	if a.IsZero() || b.Before(a) {
		return b
	}
	return a
}

// noteMissed says which slots d counted missed; held is the due slot not
// run for an unmet dependency (zero: none).
func (p *jobPlanner) noteMissed(d cronDecision, held time.Time) {
	switch {
	case d.missed == 0:
	case !held.IsZero():
		p.out.note(true, "MissedSchedule", p.name, fmt.Sprintf("missed %d slot(s), the last of %s: %s", d.missed, stamp(held), p.in.waiting))
	case d.many:
		p.out.note(true, "MissedSchedule", p.name, fmt.Sprintf("missed more than %d slots (too many to count)", maxCountedMisses))
	case !d.late.IsZero():
		p.out.note(true, "MissedSchedule", p.name, fmt.Sprintf("missed %d slot(s), the last of %s past startingDeadlineSeconds", d.missed, stamp(d.late)))
	default:
		p.out.note(true, "MissedSchedule", p.name, fmt.Sprintf("missed %d slot(s): only the most recent due slot runs", d.missed))
	}
}

// pruneCron forgets the finished runs beyond the history limits (once
// none of their processes runs).
func (p *jobPlanner) pruneCron(spec *v1alpha1.CronJobSpec) {
	keepOK, keepFailed := cronHistoryLimits(spec)
	for _, n := range pruneCronRuns(p.out.job.Runs, keepOK, keepFailed) {
		p.drop(p.out.job.find(n))
	}
}

// stamp is a slot as events show it.
func stamp(t time.Time) string { return t.Format(time.RFC3339) }
