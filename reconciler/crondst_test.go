package reconciler

import (
	"slices"
	"testing"
	"time"

	"proclet.dev/proclet/apis/v1alpha1"
)

// cronSim runs a CronJob's passes from from to to, each at the time the
// previous one asked to look again (as the daemon's queue does), plus one
// at every time of extra (events, clock jumps), and returns the slots
// started, each run ending at once.
func cronSim(t *testing.T, spec v1alpha1.CronJobSpec, from, to time.Time, extra ...time.Time) []time.Time {
	t.Helper()
	in := cronFixture(t, spec)
	in.created, in.now = from, from
	var starts []time.Time
	for range 10000 {
		d := planCron(in)
		if !d.start.IsZero() {
			starts = append(starts, d.start)
		}
		in.last, in.counted, in.skipped = d.last, d.counted, d.skipped
		next := d.requeue
		for len(extra) > 0 && (next.IsZero() || !extra[0].After(next)) {
			next, extra = extra[0], extra[1:]
		}
		if next.IsZero() || next.After(to) {
			return starts
		}
		in.now = next
	}
	t.Fatal("the simulation did not end")
	return nil
}

func wallClocks(ts []time.Time, loc *time.Location) []string {
	var out []string
	for _, t := range ts {
		out = append(out, t.In(loc).Format("01-02 15:04 MST"))
	}
	return out
}

// The behaviour of robfig/cron in a time zone's changes, pinned, with the
// one correction of ours: a fixed-time slot in an hour a fall-back repeats
// runs once (docs/jobs.md, "CronJob").
func TestPlanCron_DST(t *testing.T) {
	for _, tc := range []struct {
		name, zone, schedule string
		from, to             string // RFC 3339
		want                 []string
	}{
		{"New York fall-back: 01:30 runs once", "America/New_York", "30 1 * * *",
			"2026-10-31T12:00:00-04:00", "2026-11-02T12:00:00-05:00",
			[]string{"11-01 01:30 EDT", "11-02 01:30 EST"}},
		{"New York fall-back: every 20 minutes of hour 1 runs once each", "America/New_York", "*/20 1 * * *",
			"2026-11-01T00:00:00-04:00", "2026-11-01T12:00:00-05:00",
			[]string{"11-01 01:00 EDT", "11-01 01:20 EDT", "11-01 01:40 EDT"}},
		{"New York fall-back: hourly runs in both passes of the hour", "America/New_York", "0 * * * *",
			"2026-11-01T00:30:00-04:00", "2026-11-01T03:30:00-05:00",
			[]string{"11-01 01:00 EDT", "11-01 01:00 EST", "11-01 02:00 EST", "11-01 03:00 EST"}},
		{"New York fall-back: hours 0-22 are fixed hours: 01:00 runs once", "America/New_York", "0 0-22 * * *",
			"2026-11-01T00:30:00-04:00", "2026-11-01T03:30:00-05:00",
			[]string{"11-01 01:00 EDT", "11-01 02:00 EST", "11-01 03:00 EST"}},
		{"New York fall-back: hours 1-23 are fixed hours: 01:00 runs once", "America/New_York", "0 1-23 * * *",
			"2026-11-01T00:30:00-04:00", "2026-11-01T03:30:00-05:00",
			[]string{"11-01 01:00 EDT", "11-01 02:00 EST", "11-01 03:00 EST"}},
		{"New York fall-back: 02:00, right after the repeated hour, runs", "America/New_York", "0 2 * * *",
			"2026-10-31T12:00:00-04:00", "2026-11-02T12:00:00-05:00",
			[]string{"11-01 02:00 EST", "11-02 02:00 EST"}},
		{"New York spring-forward: 02:30 does not exist, no run that day", "America/New_York", "30 2 * * *",
			"2026-03-07T00:00:00-05:00", "2026-03-09T12:00:00-04:00",
			[]string{"03-07 02:30 EST", "03-09 02:30 EDT"}},
		{"Paris fall-back: 02:30 runs once", "Europe/Paris", "30 2 * * *",
			"2026-10-24T00:00:00+02:00", "2026-10-26T12:00:00+01:00",
			[]string{"10-24 02:30 CEST", "10-25 02:30 CEST", "10-26 02:30 CET"}},
		{"Paris spring-forward: 02:30 does not exist, no run that day", "Europe/Paris", "30 2 * * *",
			"2026-03-28T00:00:00+01:00", "2026-03-30T12:00:00+02:00",
			[]string{"03-28 02:30 CET", "03-30 02:30 CEST"}},
		{"Paris spring-forward: hourly skips the missing hour", "Europe/Paris", "0 * * * *",
			"2026-03-29T00:30:00+01:00", "2026-03-29T04:30:00+02:00",
			[]string{"03-29 01:00 CET", "03-29 03:00 CEST", "03-29 04:00 CEST"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			loc, err := time.LoadLocation(tc.zone)
			if err != nil {
				t.Fatal(err)
			}
			from, _ := time.Parse(time.RFC3339, tc.from)
			to, _ := time.Parse(time.RFC3339, tc.to)
			spec := v1alpha1.CronJobSpec{Schedule: tc.schedule, TimeZone: tc.zone}
			if got := wallClocks(cronSim(t, spec, from, to), loc); !slices.Equal(got, tc.want) {
				t.Errorf("runs %q, want %q", got, tc.want)
			}
			// Passes every minute (events) decide the same.
			var minutes []time.Time
			for m := from.Add(17 * time.Second); m.Before(to); m = m.Add(time.Minute) {
				minutes = append(minutes, m)
			}
			if got := wallClocks(cronSim(t, spec, from, to, minutes...), loc); !slices.Equal(got, tc.want) {
				t.Errorf("with a pass every minute: runs %q, want %q", got, tc.want)
			}
		})
	}
}

func TestPlanCron_ClockJumps(t *testing.T) {
	spec := v1alpha1.CronJobSpec{Schedule: "*/10 * * * *"}
	t.Run("forward by hours: one run, not a burst", func(t *testing.T) {
		in := cronFixture(t, spec)
		in.last, in.now = at(12, 0, 0), at(12, 5, 0)
		d := planCron(in)
		sameTime(t, "requeue", d.requeue, at(12, 10, 0))
		in.last, in.counted = d.last, d.counted
		in.now = at(17, 3, 0) // the timer fires after a jump of 5 hours
		d = planCron(in)
		sameTime(t, "start", d.start, at(17, 0, 0))
		if d.missed != 29 {
			t.Errorf("missed %d, want 29", d.missed)
		}
		in.last, in.counted, in.now = d.last, d.counted, at(17, 4, 0)
		if d = planCron(in); !d.start.IsZero() {
			t.Errorf("a second run %v after the jump", d.start)
		}
	})
	t.Run("backward: no slot already run runs again", func(t *testing.T) {
		// Runs at 12:10 and 12:20, the clock goes back to 12:01 at
		// 12:25, passes every minute after.
		var passes []time.Time
		for m := at(12, 1, 0); m.Before(at(12, 50, 0)); m = m.Add(time.Minute) {
			passes = append(passes, m)
		}
		in := cronFixture(t, spec)
		in.created = at(12, 5, 0)
		var starts []time.Time
		for _, now := range append([]time.Time{at(12, 10, 0), at(12, 20, 0), at(12, 25, 0)}, passes...) {
			in.now = now
			d := planCron(in)
			if !d.start.IsZero() {
				starts = append(starts, d.start)
			}
			in.last, in.counted = d.last, d.counted
		}
		want := []time.Time{at(12, 10, 0), at(12, 20, 0), at(12, 30, 0), at(12, 40, 0)}
		if !slices.EqualFunc(starts, want, time.Time.Equal) {
			t.Errorf("starts %v, want %v", starts, want)
		}
	})
}
