package reconciler

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"proclet.dev/proclet/apis/v1alpha1"
	"proclet.dev/proclet/runtime/runtimetest"
	"proclet.dev/proclet/server"
)

// testCron is a CronJob carrier named name on schedule, in UTC, not
// defaulted by the decoder.
func testCron(name, schedule string, mods ...func(*v1alpha1.CronJobSpec)) *v1alpha1.App {
	c := &v1alpha1.CronJob{APIVersion: v1alpha1.GroupVersion, Kind: v1alpha1.KindCronJob, Metadata: v1alpha1.ObjectMeta{Name: name},
		Spec: v1alpha1.CronJobSpec{Schedule: schedule, TimeZone: "UTC",
			JobTemplate: v1alpha1.JobTemplateSpec{Spec: v1alpha1.JobSpec{Command: []string{"/bin/report"}}}}}
	for _, m := range mods {
		m(&c.Spec)
	}
	a := c.Carrier()
	return &a
}

// bubbleStart is when a synctest bubble's clock starts.
var bubbleStart = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

// slotAt is the slot m minutes after the bubble's start.
func slotAt(m int) time.Time { return bubbleStart.Add(time.Duration(m) * time.Minute) }

// instanceOfSlot is index 0 of the run of the slot m minutes in.
func instanceOfSlot(name string, m int) string { return jobInstance(name, cronRunOf(slotAt(m)), 0) }

// sleepUntil advances the bubble's clock to minute m and lets the
// reconciler settle.
func sleepUntil(m int) {
	time.Sleep(time.Until(slotAt(m)))
	synctest.Wait()
}

func (h *harness) cronJob(name string) v1alpha1.CronJob {
	h.t.Helper()
	c, ok := h.r.CronJob(name)
	if !ok {
		h.t.Fatalf("no cronjob %s", name)
	}
	return c
}

func eventsOf(r *Reconciler, reason string) []Event {
	var out []Event
	for _, e := range r.Events("", 0) {
		if e.Reason == reason {
			out = append(out, e)
		}
	}
	return out
}

func TestReconciler_CronJobRunsAtItsSlots(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t)
		h.apply(testCron("report", "*/5 * * * *"), named("web", 1))
		if got := h.rt.Running("report"); len(got) != 0 {
			t.Fatalf("running %v before the first slot", got)
		}
		c := h.cronJob("report")
		if c.Status.NextScheduleTime == nil || !c.Status.NextScheduleTime.Equal(slotAt(5)) {
			t.Fatalf("next schedule %v, want %v", c.Status.NextScheduleTime, slotAt(5))
		}
		sleepUntil(5)
		first := instanceOfSlot("report", 5)
		if got := h.rt.Running("report"); !slices.Equal(got, []string{first}) {
			t.Fatalf("running %v at the slot, want %s", got, first)
		}
		c = h.cronJob("report")
		run := runName("report", cronRunOf(slotAt(5)))
		if !slices.Equal(c.Status.Active, []string{run}) || !c.Status.LastScheduleTime.Equal(slotAt(5)) ||
			!c.Status.NextScheduleTime.Equal(slotAt(10)) || len(c.Status.Runs) != 1 || !c.Status.Runs[0].ScheduledTime.Equal(slotAt(5)) {
			t.Fatalf("status %+v", c.Status)
		}
		if e := eventsOf(h.r, "RunStarted"); len(e) != 1 || e[0].Object != run || e[0].Type != "Normal" || !strings.Contains(e[0].Message, "2000-01-01T00:05:00Z") {
			t.Fatalf("RunStarted events %+v", e)
		}
		time.Sleep(time.Minute)
		h.rt.ExitInstance(first, 0)
		synctest.Wait()
		c = h.cronJob("report")
		if len(c.Status.Active) != 0 || c.Status.LastSuccessfulTime == nil || !c.Status.LastSuccessfulTime.Equal(slotAt(6)) ||
			c.Status.Runs[0].Result != v1alpha1.JobComplete {
			t.Fatalf("after the run completed: %+v", c.Status)
		}
		sleepUntil(10)
		if got := h.rt.Running("report"); !slices.Equal(got, []string{instanceOfSlot("report", 10)}) {
			t.Fatalf("running %v at the second slot", got)
		}
		var stats []server.JobStats
		h.r.JobStats(func(s server.JobStats) { stats = append(stats, s) })
		if len(stats) != 1 || stats[0].Kind != v1alpha1.KindCronJob || !stats[0].NextSchedule.Equal(slotAt(15)) || stats[0].Succeeded != 1 || stats[0].Missed != 0 {
			t.Fatalf("stats %+v", stats)
		}
		if _, ok := h.r.App("report"); ok || len(h.r.Jobs()) != 0 || len(h.r.CronJobs()) != 1 {
			t.Fatal("a CronJob shown as an App or a Job, or not listed")
		}
	})
}

func TestReconciler_CronJobForbid(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t)
		h.apply(testCron("report", "*/5 * * * *", func(s *v1alpha1.CronJobSpec) { s.ConcurrencyPolicy = v1alpha1.ForbidConcurrent }))
		sleepUntil(10) // runs the slot of 00:05, still active at 00:10
		if got := h.rt.Running("report"); !slices.Equal(got, []string{instanceOfSlot("report", 5)}) {
			t.Fatalf("running %v, want only the run of 00:05", got)
		}
		if e := eventsOf(h.r, "RunSkipped"); len(e) != 1 || e[0].Type != "Normal" || !strings.Contains(e[0].Message, "00:10:00") {
			t.Fatalf("RunSkipped events %+v", e)
		}
		sleepUntil(15)
		if c := h.cronJob("report"); c.Status.MissedSchedules != 1 || len(h.rt.Running("report")) != 1 {
			t.Fatalf("missed %d, running %v: want the slot of 00:10 missed, one run", c.Status.MissedSchedules, h.rt.Running("report"))
		}
		time.Sleep(time.Minute)
		h.rt.ExitInstance(instanceOfSlot("report", 5), 0)
		synctest.Wait()
		// The slot of 00:15, held back, runs once the active run ended.
		if got := h.rt.Running("report"); !slices.Equal(got, []string{instanceOfSlot("report", 15)}) {
			t.Fatalf("running %v after the active run ended, want the held slot of 00:15", got)
		}
		var stats []server.JobStats
		h.r.JobStats(func(s server.JobStats) { stats = append(stats, s) })
		if len(stats) != 1 || stats[0].Missed != 1 {
			t.Fatalf("stats %+v, want 1 missed", stats)
		}
	})
}

func TestReconciler_CronJobReplace(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t)
		h.apply(testCron("report", "*/5 * * * *", func(s *v1alpha1.CronJobSpec) { s.ConcurrencyPolicy = v1alpha1.ReplaceConcurrent }))
		sleepUntil(10)
		if got := h.rt.Running("report"); !slices.Equal(got, []string{instanceOfSlot("report", 10)}) {
			t.Fatalf("running %v, want only the run of 00:10", got)
		}
		old := runName("report", cronRunOf(slotAt(5)))
		if e := eventsOf(h.r, "RunReplaced"); len(e) != 1 || e[0].Object != old || e[0].Type != "Normal" {
			t.Fatalf("RunReplaced events %+v", e)
		}
		c := h.cronJob("report")
		i := slices.IndexFunc(c.Status.Runs, func(r v1alpha1.JobRun) bool { return r.Name == old })
		if i < 0 || c.Status.Runs[i].Reason != reasonReplaced || len(c.Status.Active) != 1 {
			t.Fatalf("runs %+v, active %v", c.Status.Runs, c.Status.Active)
		}
	})
}

func TestReconciler_CronJobSuspendAndHistory(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t)
		one := int32(1)
		keep := func(s *v1alpha1.CronJobSpec) {
			s.SuccessfulJobsHistoryLimit, s.FailedJobsHistoryLimit = &one, &one
			s.JobTemplate.Spec.BackoffLimit = ptr(int32(0))
		}
		h.apply(testCron("report", "* * * * *", keep))
		for m := 1; m <= 4; m++ {
			sleepUntil(m)
			h.rt.ExitInstance(instanceOfSlot("report", m), m%2) // 1 fails, 2 succeeds, ...
			synctest.Wait()
		}
		var names []string
		for _, r := range h.cronJob("report").Status.Runs {
			names = append(names, r.Name)
		}
		want := []string{runName("report", cronRunOf(slotAt(4))), runName("report", cronRunOf(slotAt(3)))}
		if !slices.Equal(names, want) {
			t.Fatalf("runs kept %v, want the newest succeeded and failed %v", names, want)
		}
		if insts, _ := h.r.Instances("report"); len(insts) != 2 {
			t.Fatalf("instances %+v, want those of the two runs kept", insts)
		}
		h.apply(testCron("report", "* * * * *", keep, func(s *v1alpha1.CronJobSpec) { s.Suspend = ptr(true) }))
		h.rt.Calls()
		sleepUntil(10)
		c := h.cronJob("report")
		if calls := h.rt.Calls(); len(calls) != 0 || c.Status.NextScheduleTime != nil || c.Status.Conditions[0].Reason != "Suspended" {
			t.Fatalf("suspended: calls %+v, status %+v", calls, c.Status)
		}
	})
}

// TestReconciler_CronJobSlotRunsOnceAcrossAKill: a daemon killed (-9)
// right after it made a slot's run, before it saved it, hands the run on
// to the next daemon, which knows the slot's run by its instance's name:
// the slot is not run again, whether the process still runs or ended
// while no daemon ran (its recorded exit completes the run).
func TestReconciler_CronJobSlotRunsOnceAcrossAKill(t *testing.T) {
	for _, exited := range []bool{false, true} {
		t.Run(map[bool]string{false: "running", true: "exited"}[exited], func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) { cronKillDuringASlot(t, exited) })
		})
	}
}

func cronKillDuringASlot(t *testing.T, exited bool) {
	stateFile := filepath.Join(t.TempDir(), "reconciler.json")
	rt := runtimetest.New()
	snap := jobSnap(testCron("report", "*/5 * * * *"))
	r, stop := runDaemon(t, rt, stateFile)
	r.Replace(snap)
	synctest.Wait()
	sleepUntil(4)
	saved, err := os.ReadFile(stateFile)
	if err != nil {
		t.Fatal(err)
	}
	sleepUntil(5)
	first := instanceOfSlot("report", 5)
	if got := rt.Running("report"); !slices.Equal(got, []string{first}) {
		t.Fatalf("running %v, want %s", got, first)
	}
	stop()
	if err := os.WriteFile(stateFile, saved, 0o600); err != nil { // the save the kill prevented
		t.Fatal(err)
	}
	time.Sleep(30 * time.Second)
	if exited {
		rt.ExitInstance(first, 0)
	}
	rt.Calls()
	r, stop = runDaemon(t, rt, stateFile)
	defer stop()
	r.Replace(snap)
	synctest.Wait()
	if calls := rt.Calls(); len(calls) != 0 {
		t.Fatalf("the next daemon made calls: %+v (the slot run twice?)", calls)
	}
	c, _ := r.CronJob("report")
	run := runName("report", cronRunOf(slotAt(5)))
	switch {
	case c.Status.LastScheduleTime == nil || !c.Status.LastScheduleTime.Equal(slotAt(5)):
		t.Fatalf("lastScheduleTime %v, want the adopted slot", c.Status.LastScheduleTime)
	case exited && (len(c.Status.Active) != 0 || len(c.Status.Runs) != 1 || c.Status.Runs[0].Result != v1alpha1.JobComplete):
		t.Fatalf("the exit while no daemon ran: %+v", c.Status)
	case !exited && !slices.Equal(c.Status.Active, []string{run}):
		t.Fatalf("active %v, want the adopted %s", c.Status.Active, run)
	}
	sleepUntil(10)
	want := []string{instanceOfSlot("report", 10)}
	if !exited {
		want = append([]string{first}, want...)
	}
	if got := rt.Running("report"); !slices.Equal(got, want) {
		t.Fatalf("running %v at the next slot, want %v", got, want)
	}
}

// TestReconciler_CronJobAfterADowntime: a daemon down for an hour makes
// one catch-up run when it comes back, not one per slot missed.
func TestReconciler_CronJobAfterADowntime(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		stateFile := filepath.Join(t.TempDir(), "reconciler.json")
		rt := runtimetest.New()
		snap := jobSnap(testCron("report", "*/5 * * * *"))
		r, stop := runDaemon(t, rt, stateFile)
		r.Replace(snap)
		synctest.Wait()
		sleepUntil(5)
		rt.ExitInstance(instanceOfSlot("report", 5), 0)
		synctest.Wait()
		stop()
		sleepUntil(63)
		rt.Calls()
		r, stop = runDaemon(t, rt, stateFile)
		defer stop()
		r.Replace(snap)
		synctest.Wait()
		if got := rt.Running("report"); !slices.Equal(got, []string{instanceOfSlot("report", 60)}) {
			t.Fatalf("running %v, want the one catch-up run of 01:00", got)
		}
		c, _ := r.CronJob("report")
		if e := eventsOf(r, "MissedSchedule"); c.Status.MissedSchedules != 10 || len(e) != 1 || e[0].Type != "Warning" ||
			!strings.Contains(e[0].Message, "missed 10 slot(s): only the most recent") {
			t.Fatalf("missed %d, events %+v: want 10 missed, one event", c.Status.MissedSchedules, eventsOf(r, "MissedSchedule"))
		}
	})
}

// TestReconciler_CronJobWallClockJumps: the schedule follows the injected
// wall clock (Options.Now): a jump forward of hours makes one catch-up
// run within cronRecheck, though the queue waited for a slot an hour
// away; a jump back runs no slot again.
func TestReconciler_CronJobWallClockJumps(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var offset atomic.Int64
		rt := runtimetest.New()
		r := New(Options{Runtime: rt, Workers: 2, Now: func() time.Time { return time.Now().Add(time.Duration(offset.Load())) }})
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan struct{})
		go func() { _ = r.Run(ctx); close(done) }()
		defer func() { cancel(); <-done }()
		r.Replace(jobSnap(testCron("report", "0 * * * *")))
		synctest.Wait()
		time.Sleep(30 * time.Second)
		offset.Store(int64(5 * time.Hour)) // the wall clock says 05:00:30
		sleepUntil(1)
		if got := rt.Running("report"); !slices.Equal(got, []string{instanceOfSlot("report", 300)}) {
			t.Fatalf("running %v a minute after the jump, want the one catch-up run of 05:00", got)
		}
		if c, _ := r.CronJob("report"); c.Status.MissedSchedules != 4 {
			t.Fatalf("missed %d, want 4 (01:00 to 04:00)", c.Status.MissedSchedules)
		}
		rt.ExitInstance(instanceOfSlot("report", 300), 0)
		synctest.Wait()
		offset.Store(0) // back to 00:01
		rt.Calls()
		sleepUntil(5*60 + 30)
		if calls := rt.Calls(); len(calls) != 0 {
			t.Fatalf("calls after the clock went back: %+v (a slot run again?)", calls)
		}
		sleepUntil(6 * 60)
		if got := rt.Running("report"); !slices.Equal(got, []string{instanceOfSlot("report", 360)}) {
			t.Fatalf("running %v at 06:00, want its run", got)
		}
	})
}

func TestReconciler_CronJobHeldByDependencyOrHost(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t)
		events, cancel := h.r.Watch(256)
		defer cancel()
		waits := testCron("waits", "*/5 * * * *", func(s *v1alpha1.CronJobSpec) {
			s.JobTemplate.Spec.DependsOn = []v1alpha1.Dependency{{App: "db"}}
		})
		elsewhere := testCron("elsewhere", "*/5 * * * *", func(s *v1alpha1.CronJobSpec) {
			s.JobTemplate.Spec.NodeSelector = map[string]string{"disk": "ssd"}
		})
		h.apply(waits, elsewhere)
		sleepUntil(5)
		if got := append(h.rt.Running("waits"), h.rt.Running("elsewhere")...); len(got) != 0 {
			t.Fatalf("running %v", got)
		}
		c := h.cronJob("waits")
		e := eventsOf(h.r, "MissedSchedule")
		if c.Status.MissedSchedules != 1 || len(c.Status.Runs) != 0 || len(e) != 1 || e[0].Type != "Warning" || !strings.Contains(e[0].Message, `waiting for app "db"`) {
			t.Fatalf("waits: status %+v, events %+v: want the slot missed for its dependency", c.Status, e)
		}
		c = h.cronJob("elsewhere")
		if c.Status.NextScheduleTime != nil || c.Status.MissedSchedules != 0 || c.Status.Conditions[0].Status != v1alpha1.ConditionFalse ||
			c.Status.Conditions[0].Type != v1alpha1.ConditionScheduled {
			t.Fatalf("elsewhere: %+v, want no next time, nothing missed, Scheduled False", c.Status)
		}
		kinds := map[string]int{}
		for len(events) > 0 {
			ev := <-events
			if ev.Kind == v1alpha1.KindCronJob {
				kinds[ev.Object.(v1alpha1.CronJob).Metadata.Name]++
			}
			if ev.Kind == "App" || ev.Kind == v1alpha1.KindJob {
				t.Fatalf("a CronJob in the watch as %s: %+v", ev.Kind, ev)
			}
		}
		if kinds["waits"] == 0 || kinds["elsewhere"] == 0 {
			t.Fatalf("watch events of kind CronJob by name: %v", kinds)
		}
	})
}

func TestReconciler_CronJobInvalidScheduleMakesNoRun(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t)
		h.apply(testCron("report", "* * * * *", func(s *v1alpha1.CronJobSpec) { s.TimeZone = "Mars/Olympus" }))
		sleepUntil(3)
		c := h.cronJob("report")
		e := eventsOf(h.r, "InvalidSchedule")
		if len(h.rt.Running("report")) != 0 || len(e) != 1 || e[0].Type != "Warning" || c.Status.NextScheduleTime != nil ||
			c.Status.Conditions[0].Reason != "InvalidSchedule" || !strings.Contains(c.Status.Conditions[0].Message, "Mars/Olympus") {
			t.Fatalf("running %v, events %+v, status %+v", h.rt.Running("report"), e, c.Status)
		}
		// Fixed: the slots that passed are as after a suspension, one
		// catch-up run (00:03), the others missed.
		h.apply(testCron("report", "* * * * *"))
		if c := h.cronJob("report"); !slices.Equal(h.rt.Running("report"), []string{instanceOfSlot("report", 3)}) ||
			c.Status.Conditions[0].Reason != "Scheduled" || c.Status.MissedSchedules != 2 {
			t.Fatalf("fixed: running %v, status %+v", h.rt.Running("report"), c.Status)
		}
	})
}

func TestReconciler_CronJobCatchUpPastItsDeadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		stateFile := filepath.Join(t.TempDir(), "reconciler.json")
		rt := runtimetest.New()
		snap := jobSnap(testCron("report", "*/5 * * * *", func(s *v1alpha1.CronJobSpec) { s.StartingDeadlineSeconds = ptr(int64(60)) }))
		r, stop := runDaemon(t, rt, stateFile)
		r.Replace(snap)
		synctest.Wait()
		stop()
		sleepUntil(12)
		r, stop = runDaemon(t, rt, stateFile)
		defer stop()
		r.Replace(snap)
		synctest.Wait()
		e := eventsOf(r, "MissedSchedule")
		if len(rt.Running("report")) != 0 || len(e) != 1 || !strings.Contains(e[0].Message, "missed 2 slot(s), the last of 2000-01-01T00:10:00Z past startingDeadlineSeconds") {
			t.Fatalf("running %v, events %+v", rt.Running("report"), e)
		}
	})
}
