package reconciler

import (
	"testing"
	"time"

	"proclet.dev/proclet/apis/v1alpha1"
	"proclet.dev/proclet/runtime"
)

func jobStatusInput(app *v1alpha1.App, job *jobState, now time.Time) statusInput {
	return statusInput{desired: &v1alpha1.SourcedApp{App: *app, Path: "migrate.yaml"}, revision: "r1", generation: 1, job: job,
		pass: input{app: app, revision: "r1", replicas: 1, synced: true}, nodeMatches: true, synced: true, now: now}
}

func TestDeriveJob_Conditions(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	app := testJob("migrate", func(s *v1alpha1.JobSpec) { s.NodeSelector = map[string]string{"role": "db"} })

	si := jobStatusInput(app, nil, now)
	si.pass.waiting = "waiting for app db"
	if c := jobCond(*deriveJob(si, nil).job, v1alpha1.ConditionComplete); c.Reason != "WaitingForDependency" || c.Message != si.pass.waiting {
		t.Fatalf("waiting: %+v", c)
	}

	si = jobStatusInput(app, nil, now)
	si.nodeMatches, si.pass.replicas = false, 0
	d := deriveJob(si, nil)
	if c := jobCond(*d.job, v1alpha1.ConditionScheduled); c.Status != v1alpha1.ConditionFalse {
		t.Fatalf("node mismatch: conditions %+v, want Scheduled=False", d.job.Status.Conditions)
	}

	run := &jobRun{Run: 2, Revision: "r1", Start: now, Failed: 1, Slots: map[int]slot{0: {UID: "u1", Restarts: 1}}}
	si = jobStatusInput(app, &jobState{Runs: []*jobRun{run}}, now)
	si.observed = []runtime.State{{UID: "u1", App: "migrate", Instance: "migrate-2-0", Revision: "r1", StartedAt: now}}
	prev := deriveJob(si, nil).job
	if prev.Status.Active != 1 || prev.Status.Run != 2 || jobCond(*prev, v1alpha1.ConditionComplete).Reason != "Running" {
		t.Fatalf("running: %+v", prev.Status)
	}
	done := *run
	done.Result, done.Reason, done.Message, done.Finished = v1alpha1.JobFailed, v1alpha1.ReasonBackoffLimitExceeded, "too many", now.Add(time.Minute)
	si = jobStatusInput(app, &jobState{Runs: []*jobRun{&done}}, now.Add(time.Minute))
	si.observed = nil
	j := deriveJob(si, prev).job
	failed := jobCond(*j, v1alpha1.ConditionFailed)
	if failed.Status != v1alpha1.ConditionTrue || failed.Reason != v1alpha1.ReasonBackoffLimitExceeded || !failed.LastTransitionTime.Equal(now.Add(time.Minute)) {
		t.Fatalf("failed: %+v", failed)
	}
	if mv := jobCond(*j, v1alpha1.ConditionManifestValid); !mv.LastTransitionTime.Equal(now) {
		t.Fatalf("ManifestValid's transition time not kept: %+v", mv)
	}
	if len(j.Status.Runs) != 1 || j.Status.Runs[0].FinishedAt == nil || j.Status.Runs[0].CompletionTime != nil || j.Status.CompletionTime != nil {
		t.Fatalf("runs %+v", j.Status.Runs)
	}
}
