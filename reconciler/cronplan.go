package reconciler

import (
	"fmt"
	"math"
	"sync"
	"time"

	"github.com/robfig/cron/v3"

	"proclet.dev/proclet/apis/v1alpha1"
)

// The schedule decision of a CronJob, a pure function of its spec, its
// parsed schedule, what the daemon remembers of its past slots, its active
// runs and now (planCron). Kubernetes' rules: the unmet slots are those
// after the last one made (or the creation) and not after now; only the
// most recent may start, and only within startingDeadlineSeconds; the
// others are missed: after a downtime there is at most one catch-up run,
// never a burst. docs/jobs.md ("CronJob") describes it for users.

// maxCountedMisses bounds the slots one pass counts one by one: past it
// (a `* * * * *` schedule after hours of downtime) the pass stops counting,
// reports that many missed slots, and finds the most recent slot by
// bisection, so that a year of downtime costs a few dozen schedule steps.
const maxCountedMisses = 100

// cronRun is an active run of a CronJob: its number and its slot.
type cronRun struct {
	run  int64
	slot time.Time
}

// cronInput is everything a CronJob's schedule decision is made from.
type cronInput struct {
	spec     *v1alpha1.CronJobSpec
	schedule cron.Schedule
	loc      *time.Location // the spec's timeZone
	// last is the slot of the last run made (lastScheduleTime; zero:
	// none); counted: every slot up to it was made or counted missed;
	// skipped: the slot last reported skipped under Forbid; created:
	// when the daemon first saw the CronJob. Slots up to the latest of
	// last, counted, created and the active runs' slots are never due.
	last, counted, skipped, created time.Time
	active                          []cronRun
	// off: no run is made on this host (its node selector does not
	// match): as suspended.
	off bool
	now time.Time
}

// cronDecision is what to do now and what to remember.
type cronDecision struct {
	start time.Time // the slot to make a run of now; zero: none
	stop  []int64   // the active runs to stop first (Replace)
	// missed is how many slots this pass counted missed (at most
	// maxCountedMisses); many: there were more than that.
	missed int64
	many   bool
	// late is the most recent due slot when it is missed for its
	// startingDeadlineSeconds (zero otherwise).
	late time.Time
	// skipped is the due slot held back under Forbid while a run is
	// active; newSkip: it was not reported before.
	skipped time.Time
	newSkip bool
	// last, counted: the new values to remember.
	last, counted time.Time
	// next is the next slot (zero: suspended, or the schedule has none);
	// requeue when to look again without an event (zero: never).
	next, requeue time.Time
}

// planCron decides what a CronJob does now.
func planCron(in cronInput) cronDecision {
	c := cronCalc{schedule: in.schedule, loc: in.loc, dedupe: fixedHours(in.schedule)}
	d := cronDecision{last: in.last, counted: in.counted}
	if in.off || (in.spec.Suspend != nil && *in.spec.Suspend) {
		return d // active runs go on; nothing is counted until resumed
	}
	base := cronLatest(in.last, in.counted, in.created)
	for _, a := range in.active {
		base = cronLatest(base, a.slot)
	}
	if base.IsZero() {
		base = in.now
	}
	due := c.due(base, in.now)
	if !due.recent.IsZero() {
		d.decide(in, due)
	}
	d.next = c.next(cronLatest(d.counted, base, in.now))
	d.requeue = d.next
	if !d.skipped.IsZero() {
		// Look again when the held-back slot becomes missed.
		if dl, ok := cronDeadline(in.spec); ok && (d.requeue.IsZero() || d.skipped.Add(dl).Before(d.requeue)) {
			d.requeue = d.skipped.Add(dl)
		}
	}
	return d
}

// decide applies the deadline and the concurrency policy to the due
// slots: all but the most recent are missed; that one starts, is held
// back (Forbid), or is missed too (too late).
func (d *cronDecision) decide(in cronInput, due dueSlots) {
	older := due.count - 1
	if dl, ok := cronDeadline(in.spec); ok && in.now.Sub(due.recent) >= dl {
		d.addMissed(due.count)
		d.late, d.counted = due.recent, due.recent
		return
	}
	if in.spec.ConcurrencyPolicy == v1alpha1.ForbidConcurrent && len(in.active) > 0 {
		d.addMissed(older)
		d.skipped, d.newSkip = due.recent, !due.recent.Equal(in.skipped)
		d.counted = cronLatest(d.counted, due.before)
		return
	}
	if in.spec.ConcurrencyPolicy == v1alpha1.ReplaceConcurrent {
		for _, a := range in.active {
			d.stop = append(d.stop, a.run)
		}
	}
	d.addMissed(older)
	d.start, d.last, d.counted = due.recent, due.recent, due.recent
}

// addMissed records n missed slots: at most maxCountedMisses are counted.
func (d *cronDecision) addMissed(n int64) {
	d.missed, d.many = min(n, maxCountedMisses), n > maxCountedMisses
}

// cronDeadline is how late a slot may start: startingDeadlineSeconds plus
// the second it began in (the daemon wakes at a slot to the millisecond,
// so 0 still starts a run woken on time). false: no deadline (none set,
// or longer than a Duration holds).
func cronDeadline(spec *v1alpha1.CronJobSpec) (time.Duration, bool) {
	s := spec.StartingDeadlineSeconds
	if s == nil || *s > maxDeadlineSeconds {
		return 0, false
	}
	return time.Duration(max(*s, 0)+1) * time.Second, true
}

// maxDeadlineSeconds is the longest startingDeadlineSeconds whose
// deadline (one second more) a Duration holds: 292 years.
const maxDeadlineSeconds = math.MaxInt64/int64(time.Second) - 1

// dueSlots are the unmet slots of a pass.
type dueSlots struct {
	recent time.Time // the most recent; zero: none is due
	before time.Time // a time whose next slot is recent
	count  int64     // how many are due, counted up to maxCountedMisses+2
}

// cronCalc steps through a schedule in its time zone.
type cronCalc struct {
	schedule cron.Schedule
	loc      *time.Location
	dedupe   bool // a slot whose wall clock already passed is not a slot
}

// next is the first slot after t; a slot in the hour a fall-back repeats
// is one slot (see repeatedWallClock). Zero: none. Two slots are always
// in different minutes (a run is named by its minute): five cron fields
// fire at whole minutes, and @every is at least a minute (everySchedule).
func (c cronCalc) next(t time.Time) time.Time {
	for range 24 * 60 {
		s := c.schedule.Next(t.In(c.loc))
		if s.IsZero() || !c.dedupe || !repeatedWallClock(s) {
			return s
		}
		t = s
	}
	return time.Time{}
}

// due returns the slots after base and not after now: the count, up to
// maxCountedMisses+1, then the most recent found by bisection.
func (c cronCalc) due(base, now time.Time) dueSlots {
	s := c.next(base)
	if s.IsZero() || s.After(now) {
		return dueSlots{}
	}
	d := dueSlots{recent: s, before: base, count: 1}
	for {
		n := c.next(d.recent)
		if n.IsZero() || n.After(now) {
			return d
		}
		d.before, d.recent = d.recent, n
		d.count++
		if d.count > maxCountedMisses+1 {
			break
		}
	}
	d.before, d.recent = c.mostRecent(d.before, d.recent, now)
	return d
}

// mostRecent returns the last slot not after now, and a time whose next
// slot it is, given lo, a slot not after now, and before, a time whose
// next slot lo is: a bisection on the time whose next slot is still not
// after now, then a bounded walk forward (in case the schedule's Next is
// not monotonic across a zone change).
func (c cronCalc) mostRecent(before, lo, now time.Time) (time.Time, time.Time) {
	recent := lo
	hi := now
	for hi.Sub(lo) > time.Minute {
		mid := lo.Add(hi.Sub(lo) / 2)
		if n := c.next(mid); !n.IsZero() && !n.After(now) {
			lo = mid
		} else {
			hi = mid
		}
	}
	if n := c.next(lo); !n.IsZero() && !n.After(now) && n.After(recent) {
		before, recent = lo, n
	}
	for range maxCountedMisses {
		n := c.next(recent)
		if n.IsZero() || n.After(now) {
			break
		}
		before, recent = recent, n
	}
	return before, recent
}

// fixedHours reports whether a schedule runs at some hours of the day
// only (as `30 1 * * *`): such a slot runs once when a fall-back repeats
// its wall clock. A schedule of every hour (`0 * * * *`, `*/5 * * * *`)
// runs in both passes of a repeated hour, as the hours really passed (as
// Vixie cron tells fixed-time jobs from wildcard ones).
func fixedHours(s cron.Schedule) bool {
	spec, ok := s.(*cron.SpecSchedule)
	const allHours = 1<<24 - 1
	return ok && spec.Hour&allHours != allHours
}

// repeatedWallClock reports whether the wall clock of t (in its location)
// was already shown before: t is in the hour a fall-back repeats, in its
// second pass.
func repeatedWallClock(t time.Time) bool {
	start, _ := t.ZoneBounds()
	if start.IsZero() {
		return false
	}
	_, off := t.Zone()
	_, prev := start.Add(-time.Second).Zone()
	return prev > off && t.Sub(start) < time.Duration(prev-off)*time.Second
}

// cronRunOf is the number of the run made for slot: its Unix time in
// minutes, so that one slot can never make two runs.
func cronRunOf(slot time.Time) int64 {
	m := slot.Unix() / 60
	if slot.Unix()%60 < 0 {
		m--
	}
	return m
}

// slotOfRun is the slot a run was made for, in loc.
func slotOfRun(run int64, loc *time.Location) time.Time {
	return time.Unix(run*60, 0).In(loc)
}

// cronSchedule parses a CronJob's schedule and loads its time zone (the
// daemon's local one by default).
func cronSchedule(spec *v1alpha1.CronJobSpec) (cron.Schedule, *time.Location, error) {
	sched, err := v1alpha1.ParseSchedule(spec.Schedule)
	if err != nil {
		return nil, nil, fmt.Errorf("schedule %q: %w", spec.Schedule, err)
	}
	if every, ok := sched.(cron.ConstantDelaySchedule); ok {
		sched = everySchedule{period: every.Delay} // at least a minute (ParseSchedule)
	}
	loc := time.Local
	if spec.TimeZone != "" {
		if loc, err = loadLocation(spec.TimeZone); err != nil {
			return nil, nil, fmt.Errorf("timeZone %q: %w", spec.TimeZone, err)
		}
	}
	return sched, loc, nil
}

// everySchedule is `@every PERIOD` as a CronJob reads it: the multiples
// of the period (whole seconds, at least a minute) since the Unix epoch.
// robfig/cron counts it from whatever time it is asked about, so that the
// slots would move with each pass and with each daemon; anchored, a slot
// is the same for every pass and every daemon, and is named by its own
// minute.
type everySchedule struct{ period time.Duration }

// Next is the first multiple of the period after t.
func (e everySchedule) Next(t time.Time) time.Time {
	p := int64(e.period / time.Second)
	u := t.Unix()
	k := u / p
	if u%p < 0 {
		k--
	}
	return time.Unix((k+1)*p, 0).In(t.Location())
}

// locations caches the time zones loaded: time.LoadLocation reads the
// zone database at each call, and a pass must not. Only zones that exist
// are kept (IANA names: a few hundred at most).
var locations sync.Map // name -> *time.Location

func loadLocation(name string) (*time.Location, error) {
	if l, ok := locations.Load(name); ok {
		return l.(*time.Location), nil
	}
	l, err := time.LoadLocation(name)
	if err != nil {
		return nil, err
	}
	locations.Store(name, l)
	return l, nil
}

// cronLatest is the latest of ts (zero for none).
func cronLatest(ts ...time.Time) time.Time {
	var l time.Time
	for _, t := range ts {
		if t.After(l) {
			l = t
		}
	}
	return l
}
