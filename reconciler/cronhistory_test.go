package reconciler

import (
	"slices"
	"testing"

	"proclet.dev/proclet/apis/v1alpha1"
)

func TestPruneCronRuns(t *testing.T) {
	ok, bad := v1alpha1.JobComplete, v1alpha1.JobFailed
	runs := func(results ...v1alpha1.JobResult) []v1alpha1.JobRun {
		var out []v1alpha1.JobRun
		for i, r := range results {
			// Newest first, as a status lists them: run 100, 99, ...
			out = append(out, v1alpha1.JobRun{Run: int64(100 - i), Result: r})
		}
		return out
	}
	for _, tc := range []struct {
		name     string
		runs     []v1alpha1.JobRun
		ok, fail int
		want     []int64
	}{
		{"within the limits nothing goes", runs(ok, bad, ok, ok), 3, 1, nil},
		{"the oldest succeeded and failed beyond the limits go", runs(ok, bad, ok, bad, ok, ok, ""), 3, 1, []int64{95, 97}},
		{"active runs are always kept", runs("", "", "", ok), 0, 0, []int64{97}},
		{"limits of 0 keep no finished run", runs(bad, ok, ""), 0, 0, []int64{99, 100}},
		{"newest is the highest run, whatever the order", []v1alpha1.JobRun{{Run: 7, Result: ok}, {Run: 9, Result: ok}, {Run: 8, Result: ok}}, 1, 1, []int64{7, 8}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := pruneCronRuns(tc.runs, tc.ok, tc.fail); !slices.Equal(got, tc.want) {
				t.Errorf("pruned %v, want %v", got, tc.want)
			}
		})
	}
}

func TestCronHistoryLimits(t *testing.T) {
	if s, f := cronHistoryLimits(&v1alpha1.CronJobSpec{}); s != 3 || f != 1 {
		t.Errorf("defaults %d, %d, want 3, 1", s, f)
	}
	spec := v1alpha1.CronJobSpec{SuccessfulJobsHistoryLimit: ptr[int32](0), FailedJobsHistoryLimit: ptr[int32](5)}
	if s, f := cronHistoryLimits(&spec); s != 0 || f != 5 {
		t.Errorf("limits %d, %d, want 0, 5", s, f)
	}
}
