package reconciler

import (
	"slices"
	"testing"

	"proclet.dev/proclet/apis/v1alpha1"
)

func TestPruneCronRuns(t *testing.T) {
	ok, bad := v1alpha1.JobComplete, v1alpha1.JobFailed
	runs := func(results ...v1alpha1.JobResult) []*jobRun {
		var out []*jobRun
		for i, r := range results {
			// Newest first: run 100, 99, ...
			out = append(out, &jobRun{Run: int64(100 - i), Result: r})
		}
		return out
	}
	for _, tc := range []struct {
		name     string
		runs     []*jobRun
		ok, fail int
		want     []int64
	}{
		{"within the limits nothing goes", runs(ok, bad, ok, ok), 3, 1, nil},
		{"the oldest succeeded and failed beyond the limits go", runs(ok, bad, ok, bad, ok, ok, ""), 3, 1, []int64{95, 97}},
		{"active runs are always kept", runs("", "", "", ok), 0, 0, []int64{97}},
		{"limits of 0 keep no finished run", runs(bad, ok, ""), 0, 0, []int64{99, 100}},
		{"other limits", runs(ok, ok, bad, ok, ok, ""), 2, 0, []int64{96, 97, 98}},
		{"the failed runs older than the succeeded ones come first", runs(ok, ok, bad, bad), 0, 1, []int64{97, 99, 100}},
		{"newest is the highest run, whatever the order", []*jobRun{{Run: 7, Result: ok}, {Run: 9, Result: ok}, {Run: 8, Result: ok}}, 1, 1, []int64{7, 8}},
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
	for _, want := range [][2]int32{{0, 5}, {7, 0}} {
		spec := v1alpha1.CronJobSpec{SuccessfulJobsHistoryLimit: ptr(want[0]), FailedJobsHistoryLimit: ptr(want[1])}
		if s, f := cronHistoryLimits(&spec); s != int(want[0]) || f != int(want[1]) {
			t.Errorf("limits %d, %d, want %v", s, f, want)
		}
	}
}
