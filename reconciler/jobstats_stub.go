package reconciler

import "proclet.dev/proclet/server"

// JobStats calls fn with the run stats of every Job and CronJob, sorted by
// name (server.JobStatsReader: the proclet_job_* and proclet_cronjob_*
// series, wired as MetricsSources.Jobs). None yet: the Job controller's
// JobStats replaces this file.
func (r *Reconciler) JobStats(fn func(server.JobStats)) {}
