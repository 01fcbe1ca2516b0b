package reconciler

import (
	"slices"

	"proclet.dev/proclet/apis/v1alpha1"
)

// The default history limits of a CronJob, as Kubernetes'.
const (
	defaultSuccessfulJobsHistoryLimit = 3
	defaultFailedJobsHistoryLimit     = 1
)

// cronHistoryLimits are how many succeeded and failed runs a CronJob keeps.
func cronHistoryLimits(spec *v1alpha1.CronJobSpec) (succeeded, failed int) {
	succeeded, failed = defaultSuccessfulJobsHistoryLimit, defaultFailedJobsHistoryLimit
	if n := spec.SuccessfulJobsHistoryLimit; n != nil {
		succeeded = max(int(*n), 0)
	}
	if n := spec.FailedJobsHistoryLimit; n != nil {
		failed = max(int(*n), 0)
	}
	return succeeded, failed
}

// pruneCronRuns returns the numbers of the finished runs beyond the history
// limits, oldest first: all but the keepSucceeded newest succeeded runs
// and all but the keepFailed newest failed ones (newest: the highest run
// number, the latest slot). An active run (no result yet) is always kept.
func pruneCronRuns(runs []*jobRun, keepSucceeded, keepFailed int) []int64 {
	var succeeded, failed []int64
	for _, r := range runs {
		switch r.Result {
		case v1alpha1.JobComplete:
			succeeded = append(succeeded, r.Run)
		case v1alpha1.JobFailed:
			failed = append(failed, r.Run)
		}
	}
	drop := append(cronBeyond(succeeded, keepSucceeded), cronBeyond(failed, keepFailed)...)
	slices.Sort(drop)
	return drop
}

// cronBeyond returns the runs of runs but the keep highest.
func cronBeyond(runs []int64, keep int) []int64 {
	slices.Sort(runs)
	return runs[:max(len(runs)-keep, 0)]
}
