package client

import (
	"slices"
	"strings"
	"testing"

	"proclet.dev/proclet/apis/v1alpha1"
)

// mkJobs is a defaulted Job and CronJob as a folder gives them.
func mkJobs(completions int32, schedule string) (job, cron v1alpha1.App) {
	job = (&v1alpha1.Job{APIVersion: v1alpha1.GroupVersion, Kind: v1alpha1.KindJob, Metadata: v1alpha1.ObjectMeta{Name: "migrate"},
		Spec: v1alpha1.JobSpec{Command: []string{"migrate", "up"}, Completions: &completions}}).Carrier()
	v1alpha1.Default(&job)
	cron = (&v1alpha1.CronJob{APIVersion: v1alpha1.GroupVersion, Kind: v1alpha1.KindCronJob, Metadata: v1alpha1.ObjectMeta{Name: "report"},
		Spec: v1alpha1.CronJobSpec{Schedule: schedule, JobTemplate: v1alpha1.JobTemplateSpec{Spec: v1alpha1.JobSpec{Command: []string{"report"}}}}}).Carrier()
	v1alpha1.Default(&cron)
	return job, cron
}

// servedJobs is what the daemon's API gives of job and cron, through
// JobCarriers, as runDiff reads it.
func servedJobs(job, cron v1alpha1.App) []v1alpha1.App {
	j, c := *job.AsJob(), *cron.AsCronJob()
	j.Status = &v1alpha1.JobStatus{Revision: v1alpha1.AppRevision(&job, ""), Source: "migrate.yaml"}
	c.Status = &v1alpha1.CronJobStatus{Revision: v1alpha1.AppRevision(&cron, ""), Source: "report.yaml"}
	return JobCarriers([]v1alpha1.Job{j}, []v1alpha1.CronJob{c})
}

// A folder's Jobs and CronJobs compare with the daemon's: unchanged is no
// line (not "new", as when only apps were compared), a Job's completions
// is a new run, a schedule change is no restart, and new ones say their
// kind.
func TestDiff_JobsAndCronJobs(t *testing.T) {
	job, cron := mkJobs(1, "0 3 * * *")
	remote := servedJobs(job, cron)
	if got := Diff(snapshot(job, cron), remote); len(got) != 0 {
		t.Fatalf("unchanged Job and CronJob: %v, want no change", got)
	}
	job3, cron4 := mkJobs(3, "0 4 * * *")
	want := []string{
		"~ migrate: revision " + v1alpha1.AppRevision(&job, "") + " -> " + v1alpha1.AppRevision(&job3, "") + " (a new run: completions)",
		`~ report: schedule "0 3 * * *" -> "0 4 * * *" (no restart)`,
	}
	if got := lines(Diff(snapshot(job3, cron4), remote)); !slices.Equal(got, want) {
		t.Fatalf("changed: %q\nwant %q", got, want)
	}
	want = []string{"+ migrate (new job: runs once)", `+ report (new cronjob: "0 3 * * *")`}
	if got := lines(Diff(snapshot(job, cron), nil)); !slices.Equal(got, want) {
		t.Fatalf("new: %q\nwant %q", got, want)
	}
	app := mkApp("migrate", 1, "migrate", "up")
	if got := lines(Diff(snapshot(job), []v1alpha1.App{served(app, "migrate.yaml")})); len(got) != 1 || !strings.Contains(got[0], "(a new run: restartPolicy, kind app -> job)") {
		t.Fatalf("an App become a Job: %q", got)
	}
}

func lines(cs []Change) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = c.String()
	}
	return out
}
