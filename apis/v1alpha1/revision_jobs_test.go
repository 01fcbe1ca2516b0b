package v1alpha1

import (
	"strings"
	"testing"
)

// The revisions of a Job and a CronJob are pinned as an App's are:
// changing one re-runs every Job of every user on upgrade.
var goldenJobRevisions = map[string]string{
	"job":     "b1e594504e",
	"cronjob": "58d2fdd132",
}

func TestJobRevisionGolden(t *testing.T) {
	for name, data := range map[string]string{"job": minimalJob, "cronjob": minimalCronJob} {
		a := mustDecode(t, name+".yaml", []byte(data))[0]
		if got := AppRevision(&a, ""); got != goldenJobRevisions[name] {
			t.Errorf("%s: revision %s, pinned %s", name, got, goldenJobRevisions[name])
		}
	}
}

// What makes a new run changes a Job's revision; what does not (the
// ttl, when and where it runs, its labels) leaves it. A CronJob's is its
// template's: a new schedule does not touch an active run.
func TestJobRevisionFields(t *testing.T) {
	rev := func(data string) string {
		t.Helper()
		a := mustDecode(t, "a.yaml", []byte(data))[0]
		return AppRevision(&a, "")
	}
	job, cron := rev(minimalJob), rev(minimalCronJob)
	if job == cron || job == rev(strings.Replace(minimalJob, "kind: Job", "kind: App", 1)) {
		t.Error("a Job, a CronJob and an App of one command share a revision")
	}
	for _, add := range []string{"  completions: 2\n", "  parallelism: 2\n", "  completionMode: Indexed\n", "  backoffLimit: 1\n",
		"  activeDeadlineSeconds: 60\n", "  restartPolicy: OnFailure\n", "  env: [{name: A, value: b}]\n",
		"  terminationGracePeriodSeconds: 1\n", "  restartBackoff: {initial: 2s}\n", "  logs: {maxFiles: 2}\n"} {
		if rev(minimalJob+add) == job {
			t.Errorf("%q leaves the job's revision", add)
		}
		template := strings.ReplaceAll(add, "  ", "      ")
		if rev(minimalCronJob+template) == cron {
			t.Errorf("%q in the template leaves the cronjob's revision", add)
		}
	}
	for _, add := range []string{"  ttlSecondsAfterFinished: 60\n", "  dependsOn: [{app: db}]\n", "  nodeSelector: {a: b}\n",
		"  restartPolicy: Never\n", "  completions: 1\n", "  backoffLimit: 6\n"} {
		if rev(minimalJob+add) != job {
			t.Errorf("%q changes the job's revision", add)
		}
	}
	if rev(strings.Replace(minimalJob, "name: migrate", "name: migrate\n  labels: {a: b}", 1)) != job {
		t.Error("a label changes the job's revision")
	}
	for _, add := range []string{"  timeZone: UTC\n", "  concurrencyPolicy: Forbid\n", "  suspend: true\n", "  startingDeadlineSeconds: 5\n",
		"  successfulJobsHistoryLimit: 1\n", "  failedJobsHistoryLimit: 0\n"} {
		if rev(minimalCronJob+add) != cron {
			t.Errorf("%q changes the cronjob's revision", add)
		}
	}
	if rev(strings.Replace(minimalCronJob, "'0 * * * *'", "'@daily'", 1)) != cron {
		t.Error("the schedule changes the cronjob's revision")
	}
	a := mustDecode(t, "a.yaml", []byte(minimalJob))[0]
	if AppRevision(&a, "abc") == job {
		t.Error("the content digest leaves the job's revision")
	}
	a.Metadata.Annotations = map[string]string{RestartedAtAnnotation: "2026-12-07T00:00:00Z"}
	if AppRevision(&a, "") == job {
		t.Error("restartedAt leaves the job's revision")
	}
}
