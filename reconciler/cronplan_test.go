package reconciler

import (
	"math"
	"slices"
	"testing"
	"time"

	"github.com/robfig/cron/v3"

	"proclet.dev/proclet/apis/v1alpha1"
)

// cronFixture is a CronJob's schedule decision input built from a spec.
func cronFixture(t *testing.T, spec v1alpha1.CronJobSpec) cronInput {
	t.Helper()
	if spec.TimeZone == "" {
		spec.TimeZone = "UTC"
	}
	sched, loc, err := cronSchedule(&spec)
	if err != nil {
		t.Fatal(err)
	}
	return cronInput{spec: &spec, schedule: sched, loc: loc}
}

// at is a time of 2026-12-07 in UTC.
func at(hour, minute, sec int) time.Time {
	return time.Date(2026, 12, 7, hour, minute, sec, 0, time.UTC)
}

func sameTime(t *testing.T, what string, got, want time.Time) {
	t.Helper()
	if !got.Equal(want) {
		t.Errorf("%s = %v, want %v", what, got, want)
	}
}

// cronDueCase is one row of TestPlanCron_Due.
type cronDueCase struct {
	name                 string
	spec                 v1alpha1.CronJobSpec
	last, created, now   time.Time
	start, next, counted time.Time
	missed               int64
	many                 bool
	late                 time.Time
}

func cronDueCases() []cronDueCase {
	every5 := v1alpha1.CronJobSpec{Schedule: "*/5 * * * *"}
	return []cronDueCase{
		{name: "the slot at now starts", spec: every5, last: at(12, 0, 0), now: at(12, 5, 0),
			start: at(12, 5, 0), next: at(12, 10, 0), counted: at(12, 5, 0)},
		{name: "nothing is due between slots", spec: every5, last: at(12, 0, 0), now: at(12, 4, 59),
			next: at(12, 5, 0), counted: time.Time{}},
		{name: "after a downtime only the most recent slot starts, the others are missed",
			spec: every5, last: at(12, 0, 0), now: at(13, 2, 0),
			start: at(13, 0, 0), next: at(13, 5, 0), counted: at(13, 0, 0), missed: 12 - 1},
		{name: "the catch-up run is too late for startingDeadlineSeconds: all missed",
			spec: v1alpha1.CronJobSpec{Schedule: "*/5 * * * *", StartingDeadlineSeconds: ptr[int64](60)},
			last: at(12, 0, 0), now: at(13, 2, 0),
			next: at(13, 5, 0), counted: at(13, 0, 0), missed: 12, late: at(13, 0, 0)},
		{name: "within startingDeadlineSeconds the catch-up run starts",
			spec: v1alpha1.CronJobSpec{Schedule: "*/5 * * * *", StartingDeadlineSeconds: ptr[int64](120)},
			last: at(12, 0, 0), now: at(13, 2, 0).Add(900 * time.Millisecond),
			start: at(13, 0, 0), next: at(13, 5, 0), counted: at(13, 0, 0), missed: 11},
		{name: "startingDeadlineSeconds is whole seconds: one more is late",
			spec: v1alpha1.CronJobSpec{Schedule: "*/5 * * * *", StartingDeadlineSeconds: ptr[int64](120)},
			last: at(13, 0, 0), now: at(13, 7, 1),
			next: at(13, 10, 0), counted: at(13, 5, 0), missed: 1, late: at(13, 5, 0)},
		{name: "startingDeadlineSeconds 0 starts a slot woken within its second",
			spec: v1alpha1.CronJobSpec{Schedule: "*/5 * * * *", StartingDeadlineSeconds: ptr[int64](0)},
			last: at(13, 0, 0), now: at(13, 5, 0).Add(999 * time.Millisecond),
			start: at(13, 5, 0), next: at(13, 10, 0), counted: at(13, 5, 0)},
		{name: "the creation time bounds the slots when no run was made",
			spec: every5, created: at(12, 2, 0), now: at(12, 5, 0),
			start: at(12, 5, 0), next: at(12, 10, 0), counted: at(12, 5, 0)},
		{name: "a slot before the creation is not due",
			spec: every5, created: at(12, 5, 30), now: at(12, 6, 0), next: at(12, 10, 0)},
		{name: "no history at all: nothing is due now",
			spec: every5, now: at(12, 5, 0), next: at(12, 10, 0)},
		{name: "a clock set back never runs a slot again",
			spec: every5, last: at(13, 0, 0), now: at(12, 30, 0), next: at(13, 5, 0)},
		{name: "a fixed hour of the day in UTC (no zone change) runs daily",
			spec: v1alpha1.CronJobSpec{Schedule: "0 9 * * *"}, last: at(9, 0, 0).AddDate(0, 0, -1), now: at(9, 0, 0),
			start: at(9, 0, 0), next: at(9, 0, 0).AddDate(0, 0, 1), counted: at(9, 0, 0)},
		{name: "a startingDeadlineSeconds longer than a Duration is no deadline",
			spec: v1alpha1.CronJobSpec{Schedule: "*/5 * * * *", StartingDeadlineSeconds: ptr[int64](math.MaxInt64)},
			last: at(12, 0, 0), now: at(13, 2, 0),
			start: at(13, 0, 0), next: at(13, 5, 0), counted: at(13, 0, 0), missed: 11},
		{name: "the longest startingDeadlineSeconds a Duration holds is a deadline",
			spec: v1alpha1.CronJobSpec{Schedule: "*/5 * * * *", StartingDeadlineSeconds: ptr[int64](maxDeadlineSeconds)},
			last: at(12, 0, 0), now: at(13, 2, 0),
			start: at(13, 0, 0), next: at(13, 5, 0), counted: at(13, 0, 0), missed: 11},
		{name: "one second more than that is no deadline",
			spec: v1alpha1.CronJobSpec{Schedule: "*/5 * * * *", StartingDeadlineSeconds: ptr[int64](maxDeadlineSeconds + 1)},
			last: at(12, 0, 0), now: at(13, 2, 0),
			start: at(13, 0, 0), next: at(13, 5, 0), counted: at(13, 0, 0), missed: 11},
		{name: "exactly 101 slots due: 100 missed, counted one by one",
			spec: v1alpha1.CronJobSpec{Schedule: "* * * * *"}, last: at(10, 0, 0), now: at(11, 41, 0),
			start: at(11, 41, 0), next: at(11, 42, 0), counted: at(11, 41, 0), missed: 100},
		{name: "102 slots due: more than 100 missed, 100 counted",
			spec: v1alpha1.CronJobSpec{Schedule: "* * * * *"}, last: at(10, 0, 0), now: at(11, 42, 0),
			start: at(11, 42, 0), next: at(11, 43, 0), counted: at(11, 42, 0), missed: 100, many: true},
	}
}

func TestPlanCron_Due(t *testing.T) {
	for _, tc := range cronDueCases() {
		t.Run(tc.name, func(t *testing.T) {
			in := cronFixture(t, tc.spec)
			in.last, in.created, in.now = tc.last, tc.created, tc.now
			d := planCron(in)
			sameTime(t, "start", d.start, tc.start)
			sameTime(t, "next", d.next, tc.next)
			sameTime(t, "requeue", d.requeue, tc.next)
			sameTime(t, "counted", d.counted, tc.counted)
			sameTime(t, "late", d.late, tc.late)
			wantLast := tc.last
			if !tc.start.IsZero() {
				wantLast = tc.start
			}
			sameTime(t, "last", d.last, wantLast)
			if d.missed != tc.missed || d.many != tc.many {
				t.Errorf("missed %d (many %v), want %d (many %v)", d.missed, d.many, tc.missed, tc.many)
			}
			if len(d.stop) != 0 {
				t.Errorf("stop %v, want none", d.stop)
			}
		})
	}
}

// countingSchedule counts the calls of Next.
type countingSchedule struct {
	cron.Schedule
	calls *int
}

func (s countingSchedule) Next(t time.Time) time.Time {
	*s.calls++
	return s.Schedule.Next(t)
}

func TestPlanCron_YearOfDowntimeIsCheap(t *testing.T) {
	for _, tc := range []struct {
		spec   string
		start  time.Time
		missed int64
		many   bool
	}{
		{"* * * * *", at(12, 6, 0), maxCountedMisses, true},
		{"*/7 9-17 * * 1-5", at(12, 0, 0), maxCountedMisses, true}, // 2026-12-07 is a Monday
		{"0 0 29 2 *", time.Date(2024, 2, 29, 0, 0, 0, 0, time.UTC), 1, false},
	} {
		t.Run(tc.spec, func(t *testing.T) {
			in := cronFixture(t, v1alpha1.CronJobSpec{Schedule: tc.spec})
			var calls int
			in.schedule = countingSchedule{in.schedule, &calls}
			in.last, in.now = at(12, 0, 0).AddDate(-9, 0, 0), at(12, 6, 30)
			d := planCron(in)
			sameTime(t, "start", d.start, tc.start)
			if d.missed != tc.missed || d.many != tc.many {
				t.Errorf("missed %d (many %v), want %d (many %v)", d.missed, d.many, tc.missed, tc.many)
			}
			if calls > 300 {
				t.Errorf("%d calls of Next for nine years of downtime, want at most 300", calls)
			}
		})
	}
}

func cronPolicy(p v1alpha1.ConcurrencyPolicy, deadline *int64) v1alpha1.CronJobSpec {
	return v1alpha1.CronJobSpec{Schedule: "*/5 * * * *", ConcurrencyPolicy: p, StartingDeadlineSeconds: deadline}
}

// cronActive is a run of the slot of 12:00, active.
var cronActive = []cronRun{{run: cronRunOf(at(12, 0, 0)), slot: at(12, 0, 0)}}

// cronPass plans with spec what in says of the past and now.
func cronPass(t *testing.T, s v1alpha1.CronJobSpec, in cronInput) cronDecision {
	t.Helper()
	base := cronFixture(t, s)
	base.last, base.counted, base.skipped, base.active, base.now = in.last, in.counted, in.skipped, in.active, in.now
	return planCron(base)
}

func TestPlanCron_AllowAndReplace(t *testing.T) {
	spec, active := cronPolicy, cronActive
	pass := func(s v1alpha1.CronJobSpec, in cronInput) cronDecision { t.Helper(); return cronPass(t, s, in) }

	t.Run("Allow starts beside the active run", func(t *testing.T) {
		d := pass(spec(v1alpha1.AllowConcurrent, nil), cronInput{last: at(12, 0, 0), active: active, now: at(12, 5, 0)})
		sameTime(t, "start", d.start, at(12, 5, 0))
		if len(d.stop) != 0 {
			t.Errorf("stop %v", d.stop)
		}
	})
	t.Run("Replace stops the active runs and starts", func(t *testing.T) {
		two := append(slices.Clone(active), cronRun{run: cronRunOf(at(11, 55, 0)), slot: at(11, 55, 0)})
		d := pass(spec(v1alpha1.ReplaceConcurrent, nil), cronInput{last: at(12, 0, 0), active: two, now: at(12, 5, 0)})
		sameTime(t, "start", d.start, at(12, 5, 0))
		if want := []int64{cronRunOf(at(12, 0, 0)), cronRunOf(at(11, 55, 0))}; !slices.Equal(d.stop, want) {
			t.Errorf("stop %v, want %v", d.stop, want)
		}
	})
	t.Run("Replace with no active run only starts", func(t *testing.T) {
		d := pass(spec(v1alpha1.ReplaceConcurrent, nil), cronInput{last: at(12, 0, 0), now: at(12, 5, 0)})
		sameTime(t, "start", d.start, at(12, 5, 0))
		if len(d.stop) != 0 {
			t.Errorf("stop %v", d.stop)
		}
	})
}

func TestPlanCron_Forbid(t *testing.T) {
	spec, active := cronPolicy, cronActive
	pass := func(s v1alpha1.CronJobSpec, in cronInput) cronDecision { t.Helper(); return cronPass(t, s, in) }
	t.Run("Forbid holds the slot back while a run is active, then runs it late", func(t *testing.T) {
		s := spec(v1alpha1.ForbidConcurrent, nil)
		d := pass(s, cronInput{last: at(12, 0, 0), active: active, now: at(12, 5, 0)})
		if !d.start.IsZero() || d.missed != 0 || !d.newSkip {
			t.Fatalf("start %v missed %d newSkip %v, want no start, none missed, a new skip", d.start, d.missed, d.newSkip)
		}
		sameTime(t, "skipped", d.skipped, at(12, 5, 0))
		sameTime(t, "last", d.last, at(12, 0, 0))
		sameTime(t, "requeue", d.requeue, at(12, 10, 0))
		// The next pass, still active: the same skip, not reported again.
		d = pass(s, cronInput{last: d.last, counted: d.counted, skipped: d.skipped, active: active, now: at(12, 7, 0)})
		if !d.start.IsZero() || d.missed != 0 || d.newSkip {
			t.Fatalf("again: start %v missed %d newSkip %v", d.start, d.missed, d.newSkip)
		}
		// The active run ended before the next slot: the held slot runs.
		d = pass(s, cronInput{last: d.last, counted: d.counted, skipped: d.skipped, now: at(12, 8, 0)})
		sameTime(t, "late start", d.start, at(12, 5, 0))
		sameTime(t, "next", d.next, at(12, 10, 0))
	})
	t.Run("Forbid: a held slot overtaken by the next one is missed", func(t *testing.T) {
		s := spec(v1alpha1.ForbidConcurrent, nil)
		d := pass(s, cronInput{last: at(12, 0, 0), active: active, now: at(12, 5, 0)})
		d = pass(s, cronInput{last: d.last, counted: d.counted, skipped: d.skipped, active: active, now: at(12, 10, 0)})
		if !d.start.IsZero() || d.missed != 1 || !d.newSkip {
			t.Fatalf("start %v missed %d newSkip %v, want no start, 1 missed, a new skip", d.start, d.missed, d.newSkip)
		}
		sameTime(t, "skipped", d.skipped, at(12, 10, 0))
		d = pass(s, cronInput{last: d.last, counted: d.counted, skipped: d.skipped, now: at(12, 11, 0)})
		sameTime(t, "start", d.start, at(12, 10, 0))
		if d.missed != 0 {
			t.Errorf("missed %d counted twice", d.missed)
		}
	})
	t.Run("Forbid with a deadline: the held slot is missed at its deadline", func(t *testing.T) {
		s := spec(v1alpha1.ForbidConcurrent, ptr[int64](30))
		d := pass(s, cronInput{last: at(12, 0, 0), active: active, now: at(12, 5, 0)})
		sameTime(t, "requeue at the deadline", d.requeue, at(12, 5, 31))
		d = pass(s, cronInput{last: d.last, counted: d.counted, skipped: d.skipped, active: active, now: d.requeue})
		if !d.start.IsZero() || d.missed != 1 {
			t.Fatalf("start %v missed %d, want none started, 1 missed", d.start, d.missed)
		}
		sameTime(t, "late", d.late, at(12, 5, 0))
		d = pass(s, cronInput{last: d.last, counted: d.counted, skipped: d.skipped, now: at(12, 6, 0)})
		if !d.start.IsZero() || d.missed != 0 {
			t.Errorf("after the run ended: start %v missed %d, want nothing", d.start, d.missed)
		}
	})
	t.Run("Forbid starts when nothing is active", func(t *testing.T) {
		d := pass(spec(v1alpha1.ForbidConcurrent, nil), cronInput{last: at(12, 0, 0), now: at(12, 5, 0)})
		sameTime(t, "start", d.start, at(12, 5, 0))
	})
}

func TestPlanCron_Suspend(t *testing.T) {
	in := cronFixture(t, v1alpha1.CronJobSpec{Schedule: "*/5 * * * *", Suspend: ptr(true),
		ConcurrencyPolicy: v1alpha1.ReplaceConcurrent})
	in.last, in.now = at(12, 0, 0), at(13, 0, 0)
	in.active = []cronRun{{run: cronRunOf(at(12, 0, 0)), slot: at(12, 0, 0)}}
	d := planCron(in)
	if !d.start.IsZero() || len(d.stop) != 0 || d.missed != 0 || !d.next.IsZero() || !d.requeue.IsZero() {
		t.Fatalf("suspended: %+v, want nothing started, stopped, counted, no next time", d)
	}
	sameTime(t, "last", d.last, at(12, 0, 0))
	// Resumed (no deadline): one catch-up run, as Kubernetes.
	in.spec.Suspend, in.active = ptr(false), nil
	d = planCron(in)
	sameTime(t, "start", d.start, at(13, 0, 0))
	if d.missed != 11 {
		t.Errorf("missed %d, want 11", d.missed)
	}
}

func TestPlanCron_AdoptedRunIsNotMadeAgain(t *testing.T) {
	// The state file lost the last slot; the adopted run's instance
	// names it.
	in := cronFixture(t, v1alpha1.CronJobSpec{Schedule: "*/5 * * * *"})
	in.active = []cronRun{{run: cronRunOf(at(12, 5, 0)), slot: slotOfRun(cronRunOf(at(12, 5, 0)), time.UTC)}}
	in.now = at(12, 5, 40)
	d := planCron(in)
	if !d.start.IsZero() {
		t.Fatalf("started %v again", d.start)
	}
	sameTime(t, "next", d.next, at(12, 10, 0))
}

func TestCronRunOf(t *testing.T) {
	s := at(12, 5, 0)
	if got, want := cronRunOf(s), s.Unix()/60; got != want {
		t.Errorf("cronRunOf = %d, want %d", got, want)
	}
	if cronRunOf(s.Add(59*time.Second)) != cronRunOf(s) || cronRunOf(s.Add(time.Minute)) != cronRunOf(s)+1 {
		t.Error("a run is not one minute")
	}
	for sec, want := range map[int64]int64{-1: -1, -60: -1, -61: -2, 59: 0, 60: 1} {
		if got := cronRunOf(time.Unix(sec, 0)); got != want {
			t.Errorf("cronRunOf(%ds) = %d, want %d", sec, got, want)
		}
	}
	sameTime(t, "slotOfRun", slotOfRun(cronRunOf(s), time.UTC), s)
}

func TestCronSchedule_Errors(t *testing.T) {
	for _, tc := range []struct{ spec v1alpha1.CronJobSpec }{
		{v1alpha1.CronJobSpec{Schedule: "61 * * * *"}},
		{v1alpha1.CronJobSpec{Schedule: "* * * * *", TimeZone: "Mars/Olympus"}},
	} {
		if _, _, err := cronSchedule(&tc.spec); err == nil {
			t.Errorf("%+v: no error", tc.spec)
		}
	}
	sched, loc, err := cronSchedule(&v1alpha1.CronJobSpec{Schedule: "@hourly"})
	if err != nil || loc != time.Local {
		t.Fatalf("@hourly: %v, %v; want no error and the local zone", err, loc)
	}
	sameTime(t, "@hourly", sched.Next(at(12, 0, 0).In(time.UTC)), at(13, 0, 0))
}

func TestPlanCron_Every(t *testing.T) {
	// 2026-12-07 00:00 UTC is a multiple of 90 minutes since the epoch.
	in := cronFixture(t, v1alpha1.CronJobSpec{Schedule: "@every 90m"})
	in.created, in.now = at(0, 0, 0), at(6, 0, 0).Add(10*time.Second)
	d := planCron(in)
	sameTime(t, "start", d.start, at(6, 0, 0))
	sameTime(t, "next", d.next, at(7, 30, 0))
	if d.missed != 3 {
		t.Errorf("missed %d, want 3 (01:30, 03:00, 04:30)", d.missed)
	}
	// The same slots whatever the pass's time and the daemon's memory.
	in.last, in.counted, in.now = d.last, d.counted, at(7, 30, 0)
	sameTime(t, "the next start", planCron(in).start, at(7, 30, 0))

	if _, _, err := cronSchedule(&v1alpha1.CronJobSpec{Schedule: "@every 10s"}); err == nil {
		t.Error("@every 10s: no error; want it refused (two slots in one minute would be one run)")
	}
	odd := everySchedule{period: 90 * time.Second}
	for _, tc := range []struct{ t, want int64 }{{0, 90}, {89, 90}, {90, 180}, {-1, 0}, {-90, 0}, {-91, -90}} {
		if got := odd.Next(time.Unix(tc.t, 0)).Unix(); got != tc.want {
			t.Errorf("@every 90s after %ds: %d, want %d", tc.t, got, tc.want)
		}
	}
}
