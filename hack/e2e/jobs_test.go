package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"proclet.dev/proclet/apis/v1alpha1"
)

// jobsFolder writes the folder of the run-to-completion flow: a migration
// Job, a web App that waits for it to complete, an App with an init step,
// and (when cron) a CronJob every minute under Forbid. Every process marks
// its start in marks, so a run twice shows as two marks.
func jobsFolder(t *testing.T, dir, marks string, migrateFor string, cron bool) {
	t.Helper()
	w := bins.workload
	writeFile(t, filepath.Join(dir, "migrate.yaml"), fmt.Sprintf(`apiVersion: proclet.dev/v1alpha1
kind: Job
metadata:
  name: migrate
spec:
  command: [%q, --mark-start, %q, --exit-after, %s, --exit-code, "0"]
  backoffLimit: 2
`, w, marks, migrateFor))
	writeFile(t, filepath.Join(dir, "web.yaml"), fmt.Sprintf(`apiVersion: proclet.dev/v1alpha1
kind: App
metadata:
  name: web
spec:
  command: [%q, --mark-start, %q]
  terminationGracePeriodSeconds: 5
  dependsOn:
    - app: migrate
      condition: Complete
`, w, marks))
	writeFile(t, filepath.Join(dir, "warm.yaml"), fmt.Sprintf(`apiVersion: proclet.dev/v1alpha1
kind: App
metadata:
  name: warm
spec:
  command: [%q, --mark-start, %q]
  terminationGracePeriodSeconds: 5
  initCommands:
    - name: fill-cache
      command: [%q, --stdout-rate, "50", --lines, "3", --exit-after, 2s, --exit-code, "0"]
`, w, marks, w))
	if cron {
		writeFile(t, filepath.Join(dir, "tick.yaml"), fmt.Sprintf(`apiVersion: proclet.dev/v1alpha1
kind: CronJob
metadata:
  name: tick
spec:
  schedule: "* * * * *"
  concurrencyPolicy: Forbid
  jobTemplate:
    spec:
      command: [%q, --mark-start, %q, --exit-after, 25s, --exit-code, "0"]
`, w, marks))
	}
}

// startMarks counts the starts marked in marks by instance name.
func startMarks(t *testing.T, marks string) map[string]int {
	t.Helper()
	ents, err := os.ReadDir(marks)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int{}
	for _, e := range ents {
		name, _, _ := strings.Cut(e.Name(), ".")
		out[name]++
	}
	return out
}

func (d *daemon) job(name string) v1alpha1.Job {
	d.t.Helper()
	var j v1alpha1.Job
	code, err := d.getJSON("/api/v1/jobs/"+name, &j)
	if err != nil || (code != 200 && code != 404) {
		d.t.Fatalf("job %s: %d %v", name, code, err)
	}
	return j
}

func (d *daemon) cronJob(name string) v1alpha1.CronJob {
	d.t.Helper()
	var c v1alpha1.CronJob
	code, err := d.getJSON("/api/v1/cronjobs/"+name, &c)
	if err != nil || (code != 200 && code != 404) {
		d.t.Fatalf("cronjob %s: %d %v", name, code, err)
	}
	return c
}

func jobComplete(j v1alpha1.Job) bool {
	if j.Status == nil {
		return false
	}
	for _, c := range j.Status.Conditions {
		if c.Type == v1alpha1.ConditionComplete && c.Status == v1alpha1.ConditionTrue {
			return true
		}
	}
	return false
}

// runningOf is the running instance of app named name, if any.
func runningOf(d *daemon, app, name string) (v1alpha1.Instance, bool) {
	for _, i := range d.instances(app) {
		if i.Name == name && i.Phase == v1alpha1.PhaseRunning && i.PID > 0 {
			return i, true
		}
	}
	return v1alpha1.Instance{}, false
}

// TestJobFlowSurvivesDaemonKill is the migration flow against the built
// binary: the Job runs once, web waits for it (WaitingForDependency, no
// instance) and starts after its completion, the init step runs before
// warm's command and its output is logged apart; a daemon kill -9 in the
// middle of the Job's run adopts the run (same PID, one start), the new
// daemon still learns its exit code (Complete), and neither that daemon nor
// a third one runs the finished Job again. A new revision is a new run.
func TestJobFlowSurvivesDaemonKill(t *testing.T) {
	skipShort(t)
	dir, state, marks := t.TempDir(), t.TempDir(), t.TempDir()
	jobsFolder(t, dir, marks, "6s", false)
	d := startDaemonOn(t, dir, state)

	var run v1alpha1.Instance
	eventually(t, 20*time.Second, "migrate-1-0 running", func() bool {
		var ok bool
		run, ok = runningOf(d, "migrate", "migrate-1-0")
		return ok
	})
	eventually(t, 10*time.Second, "web waiting for migrate", func() bool {
		is := d.instances("web")
		return len(is) == 1 && is[0].Reason == "WaitingForDependency" && strings.Contains(is[0].Message, "migrate")
	})
	if is := d.instances("web"); len(is) != 1 || is[0].PID != 0 || is[0].Phase != v1alpha1.PhasePending {
		t.Fatalf("web while migrate runs: %+v, want one Pending instance without a process", is)
	}
	eventually(t, 5*time.Second, "migrate's run in instances.json", func() bool {
		data, _ := os.ReadFile(filepath.Join(state, "instances.json"))
		return strings.Contains(string(data), run.UID)
	})
	if err := d.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	<-d.exited
	if !alive(run.PID) {
		t.Fatalf("migrate-1-0 (pid %d) ended with the daemon: the test needs a longer run", run.PID)
	}
	d = startDaemonOn(t, dir, state)
	eventually(t, 30*time.Second, "migrate Complete under the second daemon", func() bool { return jobComplete(d.job("migrate")) })
	j := d.job("migrate")
	if j.Status.Run != 1 || j.Status.Succeeded != 1 || j.Status.Failed != 0 || j.Status.CompletionTime == nil {
		t.Fatalf("migrate after the adopted run: %+v", j.Status)
	}
	var web v1alpha1.Instance
	eventually(t, 20*time.Second, "web running after migrate completed", func() bool {
		var ok bool
		web, ok = runningOf(d, "web", "web-0")
		return ok
	})
	if web.StartedAt == nil || web.StartedAt.Before(*j.Status.CompletionTime) {
		t.Fatalf("web started at %v, before migrate completed at %v", web.StartedAt, j.Status.CompletionTime)
	}
	checkInitStep(t, d)
	if m := startMarks(t, marks); m["migrate-1-0"] != 1 {
		t.Fatalf("migrate-1-0 started %d times across the daemon kill, want once (marks %v)", m["migrate-1-0"], m)
	}

	// A third daemon (a clean stop and start) does not run the finished
	// Job again.
	d.stop()
	d = startDaemonOn(t, dir, state)
	eventually(t, 20*time.Second, "web running under the third daemon", func() bool {
		_, ok := runningOf(d, "web", "web-0")
		return ok
	})
	if j := d.job("migrate"); !jobComplete(j) || j.Status.Run != 1 {
		t.Fatalf("migrate under the third daemon: %+v", j.Status)
	}
	if m := startMarks(t, marks); m["migrate-1-0"] != 1 || m["migrate-2-0"] != 0 {
		t.Fatalf("a finished Job ran again after a daemon restart: marks %v", m)
	}

	// A new revision is a new run, named for it.
	jobsFolder(t, dir, marks, "1s", false)
	eventually(t, 30*time.Second, "run 2 Complete", func() bool {
		j := d.job("migrate")
		return j.Status != nil && j.Status.Run == 2 && jobComplete(j)
	})
	if m := startMarks(t, marks); m["migrate-2-0"] != 1 {
		t.Fatalf("run 2 started %d times, want once (marks %v)", m["migrate-2-0"], m)
	}
}

// checkInitStep: warm's init step ran to completion before warm's command
// (its phase said Init:0/1 meanwhile), and its output is in its own log.
func checkInitStep(t *testing.T, d *daemon) {
	t.Helper()
	eventually(t, 20*time.Second, "warm running after its init step", func() bool {
		_, ok := runningOf(d, "warm", "warm-0")
		return ok
	})
	code, out, errOut := proclet(t, "logs", "warm/warm-0", "--init", "fill-cache", "--server", d.base)
	if code != 0 || strings.Count(out, "\n") < 3 {
		t.Fatalf("proclet logs warm/warm-0 --init fill-cache: exit %d, %q, %s", code, out, errOut)
	}
}

// TestCronJobSlotSurvivesDaemonKill: a CronJob every minute under Forbid
// runs its slot once; a daemon kill -9 during the slot's run adopts it (one
// start for the slot), the run completes under the new daemon with its
// exit known, and the status says when the last schedule and success were
// and when the next slot is.
func TestCronJobSlotSurvivesDaemonKill(t *testing.T) {
	skipShort(t)
	dir, state, marks := t.TempDir(), t.TempDir(), t.TempDir()
	jobsFolder(t, dir, marks, "1s", true)
	d := startDaemonOn(t, dir, state)
	var c v1alpha1.CronJob
	eventually(t, 75*time.Second, "a tick run active", func() bool {
		c = d.cronJob("tick")
		return c.Status != nil && len(c.Status.Active) == 1
	})
	runName := c.Status.Active[0]
	if c.Status.LastScheduleTime == nil || c.Status.NextScheduleTime == nil || !c.Status.NextScheduleTime.After(*c.Status.LastScheduleTime) {
		t.Fatalf("tick status: %+v", c.Status)
	}
	var inst v1alpha1.Instance
	eventually(t, 10*time.Second, runName+"-0 running", func() bool {
		var ok bool
		inst, ok = runningOf(d, "tick", runName+"-0")
		return ok
	})
	eventually(t, 5*time.Second, "the run in instances.json", func() bool {
		data, _ := os.ReadFile(filepath.Join(state, "instances.json"))
		return strings.Contains(string(data), inst.UID)
	})
	if err := d.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	<-d.exited
	d = startDaemonOn(t, dir, state)
	eventually(t, 40*time.Second, runName+" succeeded under the second daemon", func() bool {
		c = d.cronJob("tick")
		return c.Status != nil && c.Status.LastSuccessfulTime != nil && !c.Status.LastSuccessfulTime.Before(*c.Status.LastScheduleTime)
	})
	if m := startMarks(t, marks); m[runName+"-0"] != 1 {
		t.Fatalf("%s-0 started %d times across the daemon kill, want once (marks %v)", runName, m[runName+"-0"], m)
	}
	for _, r := range c.Status.Runs {
		if r.Name == runName && (r.Result != v1alpha1.JobComplete || r.Succeeded != 1) {
			t.Fatalf("run %s after the kill: %+v", runName, r)
		}
	}
}
