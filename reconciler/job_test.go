package reconciler

import (
	"errors"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"proclet.dev/proclet/apis/v1alpha1"
	"proclet.dev/proclet/runtime"
	"proclet.dev/proclet/runtime/runtimetest"
	"proclet.dev/proclet/server"
)

// jobSnap is a snapshot of apps (Job carriers or Apps), each from its own
// file, defaulted as the decoder leaves a carrier's process spec.
func jobSnap(apps ...*v1alpha1.App) v1alpha1.Snapshot {
	var snap v1alpha1.Snapshot
	for _, a := range apps {
		v1alpha1.Default(a)
		snap.Apps = append(snap.Apps, v1alpha1.SourcedApp{App: *a, Path: a.Metadata.Name + ".yaml", Dir: "/srv"})
		snap.Files = append(snap.Files, v1alpha1.FileStatus{Path: a.Metadata.Name + ".yaml", Objects: []string{a.Metadata.Name}})
	}
	return snap
}

func jobCond(j v1alpha1.Job, typ string) v1alpha1.Condition {
	for _, c := range j.Status.Conditions {
		if c.Type == typ {
			return c
		}
	}
	return v1alpha1.Condition{}
}

func (h *harness) job(name string) v1alpha1.Job {
	h.t.Helper()
	j, ok := h.r.Job(name)
	if !ok {
		h.t.Fatalf("no job %s", name)
	}
	return j
}

func TestReconciler_JobRunsOnceAndIsShownAsAJob(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t)
		events, cancel := h.r.Watch(64)
		defer cancel()
		var mu sync.Mutex
		var starts []runtime.StartSpec
		h.rt.StartErr = func(s runtime.StartSpec) error { mu.Lock(); starts = append(starts, s); mu.Unlock(); return nil }
		h.apply(testJob("migrate"), named("web", 1))
		if got := h.rt.Running("migrate"); !slices.Equal(got, []string{"migrate-1-0"}) {
			t.Fatalf("running %v, want migrate-1-0", got)
		}
		mu.Lock()
		defer mu.Unlock()
		if i := slices.IndexFunc(starts, func(s runtime.StartSpec) bool { return s.App == "migrate" }); i < 0 || !starts[i].RecordExit || starts[i].Ordinal != 0 {
			t.Fatalf("starts %+v, want migrate-1-0 with RecordExit", starts)
		}
		for _, a := range h.r.Apps() {
			if a.Metadata.Name == "migrate" {
				t.Fatal("a Job listed by Apps")
			}
		}
		if _, ok := h.r.App("migrate"); ok || len(h.r.SharedApps()) != 1 {
			t.Fatal("a Job shown as an App")
		}
		h.rt.ExitInstance("migrate-1-0", 0)
		synctest.Wait()
		j := h.job("migrate")
		if c := jobCond(j, v1alpha1.ConditionComplete); c.Status != v1alpha1.ConditionTrue || j.Status.Succeeded != 1 || j.Status.Run != 1 ||
			j.Status.CompletionTime == nil || len(j.Status.Runs) != 1 || j.Status.Runs[0].Name != "migrate-1" {
			t.Fatalf("job status %+v", j.Status)
		}
		insts, ok := h.r.Instances("migrate")
		if !ok || len(insts) != 1 || insts[0].Name != "migrate-1-0" || insts[0].Phase != v1alpha1.PhaseSucceeded {
			t.Fatalf("instances %+v, want migrate-1-0 Succeeded", insts)
		}
		h.rt.Calls()
		h.apply(testJob("migrate"), named("web", 1))
		h.r.q.Add("migrate") // a resync
		synctest.Wait()
		if c := h.rt.Calls(); len(c) != 0 {
			t.Fatalf("a finished job was run again: %+v", c)
		}
		sawJob := false
		for len(events) > 0 {
			e := <-events
			if e.Kind == v1alpha1.KindJob {
				sawJob = true
			}
			if e.Kind == "App" && e.Object.(v1alpha1.App).Metadata.Name == "migrate" {
				t.Fatalf("watch shows the Job as an App: %+v", e)
			}
		}
		if !sawJob {
			t.Fatal("no watch event of kind Job")
		}
		for _, e := range h.r.Events("migrate", 0) {
			if e.Reason == "JobCompleted" && e.Object == "migrate-1" {
				return
			}
		}
		t.Fatalf("no JobCompleted event for migrate-1: %+v", h.r.Events("migrate", 0))
	})
}

// TestReconciler_JobOncePerRevisionAcrossDaemons: a daemon killed while a
// run is active hands it on (its process is adopted and its exit, recorded
// by the runtime, completes the run); a finished run is not run again by
// the next daemon, a new revision is.
func TestReconciler_JobOncePerRevisionAcrossDaemons(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		stateFile := filepath.Join(t.TempDir(), "reconciler.json")
		rt := runtimetest.New()
		r, stop := runDaemon(t, rt, stateFile)
		r.Replace(jobSnap(testJob("migrate")))
		synctest.Wait()
		uid := rt.Instances("migrate")[0].UID
		stop() // as a kill -9: the process keeps running (adopted next)
		rt.Calls()

		r, stop = runDaemon(t, rt, stateFile)
		r.Replace(jobSnap(testJob("migrate")))
		synctest.Wait()
		if c := rt.Calls(); len(c) != 0 {
			t.Fatalf("the adopting daemon made calls: %+v", c)
		}
		rt.Exit(uid, 0) // the recorded exit of the adopted process
		synctest.Wait()
		if j, _ := r.Job("migrate"); jobCond(j, v1alpha1.ConditionComplete).Status != v1alpha1.ConditionTrue || j.Status.Run != 1 {
			t.Fatalf("after the adopted exit: %+v", j.Status)
		}
		stop()

		r, stop = runDaemon(t, rt, stateFile)
		defer stop()
		r.Replace(jobSnap(testJob("migrate")))
		synctest.Wait()
		if c := rt.Calls(); len(c) != 0 {
			t.Fatalf("a finished run was run again by the next daemon: %+v", c)
		}
		if j, _ := r.Job("migrate"); j.Status.Run != 1 || jobCond(j, v1alpha1.ConditionComplete).Status != v1alpha1.ConditionTrue {
			t.Fatalf("restored job %+v", j.Status)
		}
		var stats []server.JobStats
		r.JobStats(func(s server.JobStats) { stats = append(stats, s) })
		if len(stats) != 1 || stats[0].LastSuccess.IsZero() || stats[0].Succeeded != 0 {
			t.Fatalf("stats %+v, want the last success kept across the restart, no run counted since", stats)
		}
		r.Replace(jobSnap(testJob("migrate", func(s *v1alpha1.JobSpec) { s.Command = []string{"/bin/migrate", "--v2"} })))
		synctest.Wait()
		if got := rt.Running("migrate"); !slices.Equal(got, []string{"migrate-2-0"}) {
			t.Fatalf("running %v, want run 2 of the new revision", got)
		}
	})
}

func TestReconciler_DependsOnCompleteJob(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t)
		web := named("web", 1)
		web.Spec.DependsOn = []v1alpha1.Dependency{{App: "migrate", Condition: v1alpha1.DependencyComplete}}
		failing := testJob("migrate", func(s *v1alpha1.JobSpec) { s.BackoffLimit = ptrTo(int32(0)) })
		h.apply(failing, web)
		if got := h.rt.Running("web"); len(got) != 0 {
			t.Fatalf("web started before the job completed: %v", got)
		}
		h.rt.ExitInstance("migrate-1-0", 1)
		synctest.Wait()
		inst := h.instance("web", "web-0")
		if inst.Reason != "WaitingForDependency" || !strings.Contains(inst.Message, "run 1 failed (BackoffLimitExceeded)") {
			t.Fatalf("web-0 %+v, want it held by the failed run", inst)
		}
		if j := h.job("migrate"); jobCond(j, v1alpha1.ConditionFailed).Reason != v1alpha1.ReasonBackoffLimitExceeded {
			t.Fatalf("job conditions %+v", j.Status.Conditions)
		}
		fixed := testJob("migrate", func(s *v1alpha1.JobSpec) {
			s.BackoffLimit, s.Command = ptrTo(int32(0)), []string{"/bin/migrate", "--fixed"}
		})
		h.apply(fixed, web)
		if got := h.rt.Running("web"); len(got) != 0 {
			t.Fatalf("web started while run 2 runs: %v", got)
		}
		h.rt.ExitInstance("migrate-2-0", 0)
		synctest.Wait()
		if got := h.rt.Running("web"); len(got) != 1 {
			t.Fatalf("web not started once the job completed: %v", got)
		}
	})
}

func TestReconciler_DependsOnCompleteOfAnApp(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t)
		web := named("web", 1)
		web.Spec.DependsOn = []v1alpha1.Dependency{{App: "db", Condition: v1alpha1.DependencyComplete}}
		h.apply(named("db", 1), web)
		inst := h.instance("web", "web-0")
		if len(h.rt.Running("web")) != 0 || !strings.Contains(inst.Message, "not a Job") {
			t.Fatalf("web-0 %+v, want it waiting: Complete needs a Job", inst)
		}
	})
}

func TestReconciler_JobStats(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t)
		h.apply(testJob("migrate"), named("web", 1))
		time.Sleep(20 * time.Second)
		h.rt.ExitInstance("migrate-1-0", 0)
		synctest.Wait()
		var got []server.JobStats
		h.r.JobStats(func(s server.JobStats) { got = append(got, s) })
		if len(got) != 1 || got[0].Job != "migrate" || got[0].Kind != v1alpha1.KindJob || got[0].Succeeded != 1 || got[0].Failed != 0 {
			t.Fatalf("stats %+v", got)
		}
		s := got[0]
		if s.DurationCount != 1 || s.DurationSum != 20 || s.Buckets[2] != 0 || s.Buckets[3] != 1 || !s.LastSuccess.Equal(time.Now()) {
			t.Fatalf("duration %v/%d buckets %v last %v", s.DurationSum, s.DurationCount, s.Buckets, s.LastSuccess)
		}
		var exits []string
		h.r.ExitCounts(func(app, reason string, n uint64) { exits = append(exits, app) })
		if slices.Contains(exits, "migrate") {
			t.Fatal("a Job's exits counted as an App's")
		}
	})
}

func TestReconciler_JobRemovedStopsItsRun(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t)
		h.apply(testJob("migrate"), named("web", 1))
		if got := h.rt.Running("migrate"); !slices.Equal(got, []string{"migrate-1-0"}) {
			t.Fatalf("running %v, want migrate-1-0", got)
		}
		h.apply(named("web", 1))
		if e := findEvent(h.r, "Stopping"); e == nil || e.Object != "migrate-1-0" {
			t.Fatalf("stopping event %+v, want one of migrate-1-0", e)
		}
		if got := h.rt.Running("migrate"); len(got) != 0 {
			t.Fatalf("running %v after the job was removed", got)
		}
		if _, ok := h.r.Job("migrate"); ok {
			t.Fatal("a removed job still shown")
		}
	})
}

func TestReconciler_JobDeadlinePassesWithTime(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t)
		h.apply(testJob("slow", func(s *v1alpha1.JobSpec) { s.ActiveDeadlineSeconds = ptrTo(int64(5)) }))
		time.Sleep(4 * time.Second)
		synctest.Wait()
		if got := h.rt.Running("slow"); len(got) != 1 {
			t.Fatalf("running %v before the deadline", got)
		}
		time.Sleep(time.Second)
		synctest.Wait()
		j := h.job("slow")
		if len(h.rt.Running("slow")) != 0 || jobCond(j, v1alpha1.ConditionFailed).Reason != v1alpha1.ReasonDeadlineExceeded || j.Status.Failed != 1 {
			t.Fatalf("running %v, status %+v: want stopped, Failed DeadlineExceeded, 1 failed", h.rt.Running("slow"), j.Status)
		}
		if e := findEvent(h.r, "JobFailed"); e == nil || e.Object != "slow-1" || e.Type != "Warning" {
			t.Fatalf("JobFailed event %+v", e)
		}
	})
}

// TestReconciler_JobRunInterruptedByACleanStopGoesOn: a clean stop of the
// daemon stops the run's processes; the next daemon starts the index
// again, and the stop is no failure.
func TestReconciler_JobRunInterruptedByACleanStopGoesOn(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		stateFile := filepath.Join(t.TempDir(), "reconciler.json")
		rt := runtimetest.New()
		r, stop := runDaemon(t, rt, stateFile)
		r.Replace(jobSnap(testJob("migrate")))
		synctest.Wait()
		stop()
		if err := r.Shutdown(t.Context()); err != nil {
			t.Fatal(err)
		}
		rt.Calls()
		r, stop = runDaemon(t, rt, stateFile)
		defer stop()
		r.Replace(jobSnap(testJob("migrate")))
		synctest.Wait()
		if got := rt.Running("migrate"); !slices.Equal(got, []string{"migrate-1-0"}) {
			t.Fatalf("running %v, want migrate-1-0 started again", got)
		}
		if j, _ := r.Job("migrate"); j.Status.Run != 1 || j.Status.Failed != 0 {
			t.Fatalf("status %+v, want run 1 going on with no failure", j.Status)
		}
	})
}

// TestReconciler_CronJobIsNoApp: a CronJob carrier is shown by CronJobs,
// never by Apps, and is not run as an App.
func TestReconciler_CronJobIsNoApp(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t)
		cj := &v1alpha1.CronJob{APIVersion: v1alpha1.GroupVersion, Kind: v1alpha1.KindCronJob, Metadata: v1alpha1.ObjectMeta{Name: "report"},
			Spec: v1alpha1.CronJobSpec{Schedule: "@hourly", JobTemplate: v1alpha1.JobTemplateSpec{Spec: v1alpha1.JobSpec{Command: []string{"/bin/report"}}}}}
		carrier := cj.Carrier()
		h.apply(&carrier, named("web", 1))
		if got := h.rt.Running("report"); len(got) != 0 {
			t.Fatalf("a CronJob run as an App: %v", got)
		}
		if _, ok := h.r.App("report"); ok || len(h.r.Apps()) != 1 {
			t.Fatal("a CronJob shown as an App")
		}
		if c, ok := h.r.CronJob("report"); !ok || c.Spec.Schedule != "@hourly" || c.Status == nil || len(h.r.CronJobs()) != 1 {
			t.Fatalf("CronJob %+v %v", c, ok)
		}
		if len(h.r.Jobs()) != 0 {
			t.Fatal("a CronJob listed as a Job")
		}
	})
}

// TestReconciler_ARestartedDaemonHoldsAJobOfABrokenFile: a Job whose file
// is broken when the daemon restarts is shown as a Job (its runs, and
// ManifestValid=False), not as an App, and nothing is started.
func TestReconciler_ARestartedDaemonHoldsAJobOfABrokenFile(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		stateFile := filepath.Join(t.TempDir(), "reconciler.json")
		rt := runtimetest.New()
		r, stop := runDaemon(t, rt, stateFile)
		r.Replace(jobSnap(testJob("migrate")))
		synctest.Wait()
		rt.ExitInstance("migrate-1-0", 0)
		synctest.Wait()
		stop()
		rt.Calls()

		r, stop = runDaemon(t, rt, stateFile)
		defer stop()
		r.Replace(v1alpha1.Snapshot{Files: []v1alpha1.FileStatus{{Path: "migrate.yaml", Error: &v1alpha1.FileError{
			File: "migrate.yaml", Line: 2, Reason: v1alpha1.ReasonInvalid, Message: "yaml: bad"}}}})
		synctest.Wait()
		if c := rt.Calls(); len(c) != 0 {
			t.Fatalf("calls for a held job: %+v", c)
		}
		if len(r.Apps()) != 0 {
			t.Fatalf("a held job shown as an App: %+v", r.Apps())
		}
		j, ok := r.Job("migrate")
		if !ok || len(j.Status.Runs) != 1 || j.Status.Runs[0].Result != v1alpha1.JobComplete || jobCond(j, v1alpha1.ConditionManifestValid).Status != v1alpha1.ConditionFalse {
			t.Fatalf("held job %v %+v", ok, j.Status)
		}
	})
}

func TestReconciler_IndexedJobGetsItsIndex(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t)
		var mu sync.Mutex
		env := map[string]string{}
		h.rt.StartErr = func(s runtime.StartSpec) error {
			mu.Lock()
			defer mu.Unlock()
			for _, e := range s.Spec.Env {
				if e.Name == completionIndexEnv {
					env[s.Instance] = e.Value
				}
			}
			return nil
		}
		h.apply(testJob("work", func(s *v1alpha1.JobSpec) {
			s.CompletionMode, s.Completions, s.Parallelism = v1alpha1.Indexed, ptrTo(int32(3)), ptrTo(int32(3))
		}))
		mu.Lock()
		got := maps.Clone(env)
		mu.Unlock()
		if want := map[string]string{"work-1-0": "0", "work-1-1": "1", "work-1-2": "2"}; !maps.Equal(got, want) {
			t.Fatalf("PROCLET_COMPLETION_INDEX %v, want %v", got, want)
		}
		h.rt.ExitInstance("work-1-2", 0)
		h.rt.ExitInstance("work-1-0", 0)
		synctest.Wait()
		if j := h.job("work"); j.Status.CompletedIndexes != "0,2" || j.Status.Active != 1 || j.Status.Succeeded != 2 {
			t.Fatalf("status %+v, want completedIndexes 0,2, 1 active", j.Status)
		}
		events, cancel := h.r.Watch(64)
		defer cancel()
		for len(events) > 0 {
			<-events
		}
		h.apply()
		deleted := false
		for len(events) > 0 {
			if e := <-events; e.Kind == v1alpha1.KindJob && e.Type == WatchDeleted {
				deleted = true
			}
		}
		if !deleted {
			t.Fatal("no DELETED watch event of the removed Job")
		}
	})
}

// TestReconciler_JobThatCannotStartFails: a program that cannot start
// counts as a failure, so the run fails at backoffLimit instead of
// retrying for ever.
func TestReconciler_JobThatCannotStartFails(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t)
		h.rt.StartErr = func(runtime.StartSpec) error { return errors.New("no such file or directory") }
		h.apply(testJob("migrate", func(s *v1alpha1.JobSpec) { s.BackoffLimit = ptrTo(int32(1)) }))
		time.Sleep(time.Minute)
		synctest.Wait()
		j := h.job("migrate")
		if jobCond(j, v1alpha1.ConditionFailed).Reason != v1alpha1.ReasonBackoffLimitExceeded || j.Status.Failed != 2 {
			t.Fatalf("status %+v, want Failed BackoffLimitExceeded after 2 failed starts", j.Status)
		}
		if inst := h.instance("migrate", "migrate-1-0"); inst.Phase != v1alpha1.PhaseFailed || inst.Reason != "StartFailed" || inst.NextStartAt != nil {
			t.Fatalf("instance %+v, want Failed StartFailed with no next start", inst)
		}
	})
}

// TestReconciler_JobExitWhileNoDaemonRan: a run's process that exited
// while no daemon ran (its exit recorded by the waiting shim) completes
// the run when the next daemon starts; nothing is run again.
func TestReconciler_JobExitWhileNoDaemonRan(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		stateFile := filepath.Join(t.TempDir(), "reconciler.json")
		rt := runtimetest.New()
		r, stop := runDaemon(t, rt, stateFile)
		r.Replace(jobSnap(testJob("migrate", func(s *v1alpha1.JobSpec) { s.Completions = ptrTo(int32(2)) })))
		synctest.Wait()
		stop()
		rt.ExitInstance("migrate-1-0", 0) // while no daemon runs
		rt.Calls()

		r, stop = runDaemon(t, rt, stateFile)
		defer stop()
		r.Replace(jobSnap(testJob("migrate", func(s *v1alpha1.JobSpec) { s.Completions = ptrTo(int32(2)) })))
		synctest.Wait()
		var starts []string
		for _, c := range rt.Calls() {
			if c.Op == "Start" {
				starts = append(starts, c.Instance)
			}
		}
		if !slices.Equal(starts, []string{"migrate-1-1"}) {
			t.Fatalf("starts %v, want only the next index of run 1", starts)
		}
		if j, _ := r.Job("migrate"); j.Status.Succeeded != 1 || j.Status.Run != 1 || j.Status.Failed != 0 {
			t.Fatalf("status %+v", j.Status)
		}
	})
}
