package reconciler

import (
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"proclet.dev/proclet/apis/v1alpha1"
	"proclet.dev/proclet/runtime"
)

func ptrTo[T any](v T) *T { return &v }

// testJob is a Job carrier named name, not defaulted by the decoder:
// every nil field must read as its documented default.
func testJob(name string, mods ...func(*v1alpha1.JobSpec)) *v1alpha1.App {
	j := &v1alpha1.Job{APIVersion: v1alpha1.GroupVersion, Kind: v1alpha1.KindJob, Metadata: v1alpha1.ObjectMeta{Name: name},
		Spec: v1alpha1.JobSpec{Command: []string{"/bin/migrate"}}}
	for _, m := range mods {
		m(&j.Spec)
	}
	a := j.Carrier()
	return &a
}

// jobWorld is a pure simulation of one Job: the planner's actions are
// applied at once (starts run, stops exit with their reason).
type jobWorld struct {
	t     *testing.T
	app   *v1alpha1.App
	rev   string
	job   *jobState
	procs []runtime.State
	now   time.Time
	uids  int
	wait  string
}

func newJobWorld(t *testing.T, mods ...func(*v1alpha1.JobSpec)) *jobWorld {
	return &jobWorld{t: t, app: testJob("migrate", mods...), rev: "r1", now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
}

func (w *jobWorld) input() input {
	return input{app: w.app, revision: w.rev, replicas: 1, synced: true, job: w.job, observed: slices.Clone(w.procs), now: w.now, waiting: w.wait}
}

// step plans one pass and applies it; it returns the plan.
func (w *jobWorld) step() output {
	w.t.Helper()
	in := w.input()
	before := in.job.clone()
	out := planJob(in)
	if in.job != nil && !jobEqual(before, in.job) {
		w.t.Fatal("planJob modified its input's runs")
	}
	for _, a := range out.actions {
		switch a.kind {
		case actRelease:
			w.procs = slices.DeleteFunc(w.procs, func(s runtime.State) bool { return s.UID == a.uid })
		case actStop:
			for i := range w.procs {
				if w.procs[i].UID == a.uid {
					w.procs[i].Exit = &v1alpha1.ExitStatus{Signal: "SIGTERM", Reason: a.reason, At: w.now}
				}
			}
		case actStart:
			sl := out.slotOf(a)
			if sl.UID == "" {
				w.uids++
				sl.UID = fmt.Sprintf("uid-%d", w.uids)
				out.setSlot(a, sl)
			}
			run := out.job.find(a.run)
			w.procs = append(w.procs, runtime.State{UID: sl.UID, App: "migrate", Instance: a.instance, Ordinal: a.ordinal,
				Revision: run.Revision, PID: 100 + w.uids, StartedAt: w.now})
		}
	}
	w.job = out.job
	return out
}

func jobEqual(a, b *jobState) bool { return reflect.DeepEqual(a, b) }

// exit makes the running instance exit with code.
func (w *jobWorld) exit(instance string, code int) string {
	w.t.Helper()
	for i := range w.procs {
		if s := &w.procs[i]; s.Instance == instance && s.Running() {
			reason := "Error"
			if code == 0 {
				reason = "Completed"
			}
			s.Exit = &v1alpha1.ExitStatus{Code: code, Reason: reason, At: w.now}
			return s.UID
		}
	}
	w.t.Fatalf("no running %s in %+v", instance, w.procs)
	return ""
}

func (w *jobWorld) running() []string {
	var out []string
	for _, s := range w.procs {
		if s.Running() {
			out = append(out, s.Instance)
		}
	}
	slices.Sort(out)
	return out
}

func (w *jobWorld) run(n int64) *jobRun {
	w.t.Helper()
	r := w.job.find(n)
	if r == nil {
		w.t.Fatalf("no run %d in %+v", n, w.job)
	}
	return r
}

func startsOf(out output) []string {
	var s []string
	for _, a := range out.actions {
		if a.kind == actStart {
			s = append(s, a.instance)
		}
	}
	return s
}

func TestJobPlan_DefaultsRunOneProcessOnce(t *testing.T) {
	w := newJobWorld(t)
	w.step()
	if got := w.running(); !slices.Equal(got, []string{"migrate-1-0"}) {
		t.Fatalf("running %v, want migrate-1-0", got)
	}
	w.exit("migrate-1-0", 0)
	w.now = w.now.Add(3 * time.Second)
	w.step()
	run := w.run(1)
	if run.Result != v1alpha1.JobComplete || !run.Finished.Equal(w.now) || run.Done.count() != 1 {
		t.Fatalf("run %+v, want Complete at %v with 1 success", run, w.now)
	}
	for range 3 { // resyncs
		if out := w.step(); len(startsOf(out)) != 0 || len(w.job.Runs) != 1 {
			t.Fatalf("a finished run was run again: %v, runs %d", startsOf(out), len(w.job.Runs))
		}
	}
}

func TestJobPlan_ParallelismBoundsNonIndexed(t *testing.T) {
	w := newJobWorld(t, func(s *v1alpha1.JobSpec) { s.Completions, s.Parallelism = ptrTo(int32(5)), ptrTo(int32(2)) })
	w.step()
	if got := w.running(); !slices.Equal(got, []string{"migrate-1-0", "migrate-1-1"}) {
		t.Fatalf("running %v, want indexes 0 and 1", got)
	}
	for i := range 5 {
		w.exit(fmt.Sprintf("migrate-1-%d", i), 0)
		w.step()
		if n := len(w.running()); n > 2 {
			t.Fatalf("%d running, parallelism 2", n)
		}
	}
	if run := w.run(1); run.Result != v1alpha1.JobComplete || run.Done.String() != "0-4" {
		t.Fatalf("run %+v, want Complete with 0-4", run)
	}
}

func TestJobPlan_ParallelismZeroStartsNothing(t *testing.T) {
	w := newJobWorld(t, func(s *v1alpha1.JobSpec) { s.Parallelism = ptrTo(int32(0)) })
	if out := w.step(); len(startsOf(out)) != 0 {
		t.Fatalf("started %v with parallelism 0", startsOf(out))
	}
	if run := w.run(1); run.finished() {
		t.Fatalf("run %+v finished, want active and paused", run)
	}
}

func TestJobPlan_BackoffLimitFailsTheRunAndStopsTheRest(t *testing.T) {
	w := newJobWorld(t, func(s *v1alpha1.JobSpec) {
		s.Completions, s.Parallelism, s.BackoffLimit = ptrTo(int32(2)), ptrTo(int32(2)), ptrTo(int32(1))
	})
	w.step()
	first := w.exit("migrate-1-0", 1)
	w.step()
	sl := w.run(1).Slots[0]
	if w.run(1).Failed != 1 || sl.UID == first || sl.Restarts != 1 {
		t.Fatalf("after one failure: failed %d, slot %+v (first uid %s): want a new process (Never), restarts 1", w.run(1).Failed, sl, first)
	}
	if got := w.running(); !slices.Equal(got, []string{"migrate-1-0", "migrate-1-1"}) {
		t.Fatalf("running %v, want the retry of 0 (first retry at once) and 1", got)
	}
	w.exit("migrate-1-0", 2)
	out := w.step()
	run := w.run(1)
	if run.Result != v1alpha1.JobFailed || run.Reason != v1alpha1.ReasonBackoffLimitExceeded || run.Failed != 2 {
		t.Fatalf("run %+v, want Failed BackoffLimitExceeded after 2 failures", run)
	}
	stops := 0
	for _, a := range out.actions {
		if a.kind == actStop && a.instance == "migrate-1-1" && a.reason == ReasonStopped {
			stops++
		}
	}
	if stops != 1 {
		t.Fatalf("actions %+v, want one Stopped stop of migrate-1-1", out.actions)
	}
	w.step() // absorbs the stopped exit: not a failure
	if run := w.run(1); run.Failed != 2 || len(w.running()) != 0 {
		t.Fatalf("after the stop: failed %d, running %v", run.Failed, w.running())
	}
}

func TestJobPlan_OnFailureRetriesTheSameProcessAfterItsBackoff(t *testing.T) {
	w := newJobWorld(t, func(s *v1alpha1.JobSpec) { s.RestartPolicy = v1alpha1.RestartOnFailure })
	w.step()
	uid := w.exit("migrate-1-0", 1)
	w.step()
	w.exit("migrate-1-0", 1) // the second failure waits initial (1s)
	out := w.step()
	if len(startsOf(out)) != 0 || out.requeue != time.Second {
		t.Fatalf("starts %v requeue %v, want none and a requeue in 1s", startsOf(out), out.requeue)
	}
	w.now = w.now.Add(time.Second)
	w.step()
	sl := w.run(1).Slots[0]
	if sl.UID != uid || sl.Restarts != 2 || w.run(1).Failed != 2 {
		t.Fatalf("slot %+v failed %d, want uid %s restarts 2 failed 2", sl, w.run(1).Failed, uid)
	}
}

func TestJobPlan_DeadlineFailsTheRun(t *testing.T) {
	w := newJobWorld(t, func(s *v1alpha1.JobSpec) { s.ActiveDeadlineSeconds = ptrTo(int64(10)) })
	if out := w.step(); out.requeue != 10*time.Second {
		t.Fatalf("requeue %v, want at the deadline (10s)", out.requeue)
	}
	w.now = w.now.Add(10 * time.Second)
	out := w.step()
	run := w.run(1)
	if run.Result != v1alpha1.JobFailed || run.Reason != v1alpha1.ReasonDeadlineExceeded {
		t.Fatalf("run %+v, want Failed DeadlineExceeded", run)
	}
	if len(out.actions) != 1 || out.actions[0].kind != actStop || out.actions[0].reason != v1alpha1.ReasonDeadlineExceeded {
		t.Fatalf("actions %+v, want the stop of the run's process, reason DeadlineExceeded", out.actions)
	}
	w.step()
	if run := w.run(1); run.Failed != 1 || len(w.procs) != 0 {
		t.Fatalf("failed %d procs %+v, want the deadline's kill counted once and released", run.Failed, w.procs)
	}
}

func TestJobPlan_NewRevisionStopsTheOldRunFirst(t *testing.T) {
	w := newJobWorld(t)
	w.step()
	w.rev = "r2"
	out := w.step()
	if s := startsOf(out); len(s) != 0 {
		t.Fatalf("started %v before the old run stopped", s)
	}
	if run := w.run(1); run.Result != v1alpha1.JobFailed || run.Reason != reasonSuperseded {
		t.Fatalf("old run %+v, want Failed Superseded", run)
	}
	out = w.step()
	if got := startsOf(out); !slices.Equal(got, []string{"migrate-2-0"}) {
		t.Fatalf("started %v, want run 2", got)
	}
	if w.run(2).Revision != "r2" || w.run(1).Failed != 0 {
		t.Fatalf("runs %+v %+v", w.run(1), w.run(2))
	}
}

func TestJobPlan_RemovalStopsThenForgets(t *testing.T) {
	w := newJobWorld(t)
	w.step()
	w.app = nil
	out := w.step()
	if out.forget || len(out.actions) != 1 || out.actions[0].kind != actStop {
		t.Fatalf("forget %v actions %+v, want a stop first", out.forget, out.actions)
	}
	if out = w.step(); !out.forget {
		t.Fatalf("not forgotten once stopped: %+v", out)
	}
}

func TestJobPlan_WaitingForADependencyMakesNoRun(t *testing.T) {
	w := newJobWorld(t)
	w.wait = "waiting for app db"
	if w.step(); len(w.job.Runs) != 0 {
		t.Fatalf("runs %+v while waiting", w.job.Runs)
	}
	w.wait = ""
	if w.step(); len(w.running()) != 1 {
		t.Fatal("no start once the dependency is met")
	}
}

func TestJobPlan_TTLForgetsTheRunButNotThatItRan(t *testing.T) {
	w := newJobWorld(t, func(s *v1alpha1.JobSpec) { s.TTLSecondsAfterFinished = ptrTo(int32(60)) })
	w.step()
	w.exit("migrate-1-0", 0)
	w.step()
	w.now = w.now.Add(30 * time.Second)
	if out := w.step(); out.requeue != 30*time.Second || w.run(1).Expired {
		t.Fatalf("requeue %v expired %v, want a requeue at the ttl", out.requeue, w.run(1).Expired)
	}
	w.now = w.now.Add(30 * time.Second)
	w.step()
	if run := w.run(1); !run.Expired || run.Slots != nil || run.Result != v1alpha1.JobComplete {
		t.Fatalf("run %+v, want expired (no slots), result kept", run)
	}
	if out := w.step(); len(startsOf(out)) != 0 {
		t.Fatalf("an expired run was run again: %v", startsOf(out))
	}
	si := statusInput{desired: &v1alpha1.SourcedApp{App: *w.app}, revision: w.rev, job: w.job, pass: w.input(), nodeMatches: true, now: w.now}
	if d := deriveJob(si, nil); len(d.job.Status.Runs) != 0 || len(d.instances) != 0 {
		t.Fatalf("an expired run is shown: %+v %+v", d.job.Status.Runs, d.instances)
	}
}

func TestJobPlan_HistoryKeepsTenRuns(t *testing.T) {
	w := newJobWorld(t)
	for i := 1; i <= maxJobRuns+3; i++ {
		w.rev = fmt.Sprintf("r%d", i)
		w.step()
		w.exit(fmt.Sprintf("migrate-%d-0", i), 0)
		w.step()
	}
	if n := len(w.job.Runs); n != maxJobRuns {
		t.Fatalf("%d runs kept, want %d", n, maxJobRuns)
	}
	if first, last := w.job.Runs[0].Run, w.job.latest().Run; first != 4 || last != maxJobRuns+3 {
		t.Fatalf("runs %d..%d, want 4..%d", first, last, maxJobRuns+3)
	}
}

func TestJobPlan_FinishedRunOfManyIndexesKeepsABoundedRecord(t *testing.T) {
	n := maxKeptIndexes + 20
	w := newJobWorld(t, func(s *v1alpha1.JobSpec) {
		s.Completions, s.Parallelism, s.BackoffLimit = ptrTo(int32(n)), ptrTo(int32(n)), ptrTo(int32(0))
	})
	w.step()
	for i := range n {
		code := 0
		if i == n-1 {
			code = 1 // the failure fails the run
		}
		w.exit(fmt.Sprintf("migrate-1-%d", i), code)
	}
	w.step()
	run := w.run(1)
	if run.Result != v1alpha1.JobFailed || len(run.Slots) != maxKeptIndexes || run.Done.count() != n-1 {
		t.Fatalf("result %s, %d slots, %d done: want Failed, %d slots kept", run.Result, len(run.Slots), run.Done.count(), maxKeptIndexes)
	}
	if _, ok := run.Slots[n-1]; !ok {
		t.Fatal("the failed index's record was dropped before succeeded ones")
	}
	if _, ok := run.Slots[0]; !ok {
		t.Fatal("the lowest succeeded index's record was dropped")
	}
}

// TestJobState_SizeBound: the largest record of a Job (maxJobRuns runs of
// maxKeptIndexes indexes, every field set) stays within the size
// docs/jobs.md gives.
func TestJobState_SizeBound(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	js := &jobState{LastSuccess: now}
	for r := range maxJobRuns {
		run := &jobRun{Run: int64(r + 29412345), Revision: "5d8f9c7b6a1e", Start: now, Finished: now, Result: v1alpha1.JobComplete,
			Reason: "Completed", Message: "completed: 100 of 100 succeeded", Slots: map[int]slot{}}
		for i := range maxKeptIndexes {
			run.Done.add(i)
			run.Slots[i] = slot{UID: newUID(), Revision: run.Revision, Restarts: 3, Failures: 3, LastStartAt: now, Crashed: true,
				LastExit: &v1alpha1.ExitStatus{Code: 0, Reason: "Completed", At: now}, Done: true}
		}
		js.Runs = append(js.Runs, run)
	}
	b, err := json.Marshal(js)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) > 256<<10 {
		t.Fatalf("a Job's record is %d bytes, over the 256 KB docs/jobs.md gives", len(b))
	}
}

func TestJobPlan_AdoptsARunningProcessOfAnUnknownRun(t *testing.T) {
	w := newJobWorld(t)
	w.procs = []runtime.State{{UID: "u7", App: "migrate", Instance: "migrate-7-0", Revision: "r1", StartedAt: w.now}}
	if out := w.step(); len(out.actions) != 0 {
		t.Fatalf("actions %+v, want the process adopted as run 7", out.actions)
	}
	w.exit("migrate-7-0", 0)
	w.step()
	if run := w.run(7); run.Result != v1alpha1.JobComplete || len(w.job.Runs) != 1 {
		t.Fatalf("runs %+v, want run 7 complete", w.job.Runs)
	}
}

// The state file lost the run (a daemon killed before its save) and its
// process exited 0 while no daemon ran (the shim recorded it): the exit
// completes the run it names, the index is not run again.
func TestJobPlan_AdoptsAnExitedProcessOfAnUnknownRun(t *testing.T) {
	w := newJobWorld(t)
	w.procs = []runtime.State{{UID: "u1", App: "migrate", Instance: "migrate-1-0", Revision: "r1", StartedAt: w.now,
		Exit: &v1alpha1.ExitStatus{Code: 0, Reason: "Completed", At: w.now.Add(time.Second)}}}
	out := w.step()
	if starts := startsOf(out); len(starts) != 0 {
		t.Fatalf("started %v: the finished index of a lost run ran again", starts)
	}
	if run := w.run(1); run == nil || run.Result != v1alpha1.JobComplete || len(w.job.Runs) != 1 {
		t.Fatalf("runs %+v, want run 1 complete", w.job.Runs)
	}
	// Its exit 3 instead: a failure of run 1, retried as run 1's index.
	w = newJobWorld(t)
	w.procs = []runtime.State{{UID: "u1", App: "migrate", Instance: "migrate-1-0", Revision: "r1", StartedAt: w.now,
		Exit: &v1alpha1.ExitStatus{Code: 3, Reason: "Error", At: w.now.Add(time.Second)}}}
	w.step()
	if run := w.run(1); run == nil || run.Failed != 1 || len(w.job.Runs) != 1 {
		t.Fatalf("runs %+v, want run 1 with one failure", w.job.Runs)
	}
}

func TestJobStartSpec_IndexedEnvOnACopy(t *testing.T) {
	app := testJob("work", func(s *v1alpha1.JobSpec) {
		s.CompletionMode, s.Env = v1alpha1.Indexed, []v1alpha1.EnvVar{{Name: "A", Value: "1"}}
	})
	app.Spec.Env = slices.Grow(app.Spec.Env, 4) // room to append in place
	out := output{job: &jobState{Runs: []*jobRun{{Run: 3, Revision: "rx", Slots: map[int]slot{}}}}}
	var spec runtime.StartSpec
	spec.Spec = &app.Spec
	out.jobStartSpec(&spec, app, action{kind: actStart, run: 3, ordinal: 2, instance: "work-3-2"})
	if spec.Instance != "work-3-2" || spec.Revision != "rx" || !spec.RecordExit {
		t.Fatalf("spec %+v", spec)
	}
	env := fmt.Sprint(spec.Spec.Env)
	if !strings.Contains(env, completionIndexEnv+" 2") || len(app.Spec.Env) != 1 || len(app.Spec.Env[:2]) == 2 && app.Spec.Env[:2][1].Name != "" {
		t.Fatalf("env %s, shared env %+v: want the index on a copy", env, app.Spec.Env[:cap(app.Spec.Env)])
	}
	nonIdx := testJob("plain")
	spec = runtime.StartSpec{Spec: &nonIdx.Spec}
	out.jobStartSpec(&spec, nonIdx, action{kind: actStart, run: 3, ordinal: 0, instance: "plain-3-0"})
	if strings.Contains(fmt.Sprint(spec.Spec.Env), completionIndexEnv) {
		t.Fatal("PROCLET_COMPLETION_INDEX for a NonIndexed job")
	}
}

func TestIndexSet_String(t *testing.T) {
	var s indexSet
	for _, i := range []int{0, 1, 2, 3, 5, 64, 65, 130} {
		s.add(i)
	}
	if got := s.String(); got != "0-3,5,64-65,130" || s.count() != 8 {
		t.Fatalf("%q (%d)", got, s.count())
	}
	if n, ok := runOf("a-b", "a-b-12-3"); !ok || n != 12 {
		t.Fatalf("runOf %d %v", n, ok)
	}
	if _, ok := runOf("a", "a-3"); ok {
		t.Fatal("runOf an App's instance")
	}
}

// TestStateEncoder_NoticesRunChanges: the incremental encoder re-encodes a
// Job whose runs changed (they are replaced, never mutated).
func TestStateEncoder_NoticesRunChanges(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	st := &appState{desiredApp: desiredApp{generation: 1, revision: "r1"},
		job: &jobState{Runs: []*jobRun{{Run: 1, Revision: "r1", Start: now, Slots: map[int]slot{0: {UID: "u"}}}}}}
	apps := map[string]*appState{"migrate": st}
	var e stateEncoder
	if _, err := e.encode(apps, now); err != nil {
		t.Fatal(err)
	}
	next := st.job.clone()
	next.latest().Result, next.latest().Finished = v1alpha1.JobComplete, now
	next.LastSuccess = now
	st.job = next
	b, err := e.encode(apps, now)
	if err != nil {
		t.Fatal(err)
	}
	var saved savedState
	if err := json.Unmarshal(b, &saved); err != nil {
		t.Fatal(err)
	}
	got := saved.Apps["migrate"].Job
	if got == nil || got.latest().Result != v1alpha1.JobComplete || !got.LastSuccess.Equal(now) || got.latest().Slots[0].UID != "u" {
		t.Fatalf("saved job %+v, want the completed run", got)
	}
}

func TestJobPlan_OverMemoryLimitIsAFailure(t *testing.T) {
	w := newJobWorld(t)
	w.step()
	w.procs[0].Usage.OverMemoryLimit = memoryLimitSamples
	out := w.step()
	if len(out.actions) != 1 || out.actions[0].kind != actStop || out.actions[0].reason != ReasonMemoryLimitExceeded {
		t.Fatalf("actions %+v, want a MemoryLimitExceeded stop", out.actions)
	}
	w.step()
	if run := w.run(1); run.Failed != 1 || len(w.running()) != 1 {
		t.Fatalf("failed %d running %v, want the kill counted and the index retried", run.Failed, w.running())
	}
}

// TestJobPlan_OncePerRevisionAcrossARestore: the runs as the state file
// gives them back make no new run of a finished revision.
func TestJobPlan_OncePerRevisionAcrossARestore(t *testing.T) {
	w := newJobWorld(t, func(s *v1alpha1.JobSpec) { s.BackoffLimit = ptrTo(int32(0)) })
	w.step()
	w.exit("migrate-1-0", 3)
	w.step() // Failed: a failed run is not run again either
	var e stateEncoder
	b, err := e.encode(map[string]*appState{"migrate": {desiredApp: desiredApp{generation: 1, revision: w.rev}, job: w.job, kind: v1alpha1.KindJob}}, w.now)
	if err != nil {
		t.Fatal(err)
	}
	var saved savedState
	if err := json.Unmarshal(b, &saved); err != nil {
		t.Fatal(err)
	}
	w.job, w.procs = saved.Apps["migrate"].Job, nil
	for range 2 {
		if out := w.step(); len(out.actions) != 0 {
			t.Fatalf("actions %+v after a restore, want none", out.actions)
		}
	}
	if run := w.run(1); run.Result != v1alpha1.JobFailed || run.Failed != 1 || saved.Apps["migrate"].Kind != v1alpha1.KindJob {
		t.Fatalf("restored run %+v", run)
	}
}
