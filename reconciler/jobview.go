package reconciler

import (
	"proclet.dev/proclet/apis/v1alpha1"
	"proclet.dev/proclet/server"
)

// Jobs returns every Job with its status, sorted by name.
func (r *Reconciler) Jobs() []v1alpha1.Job { return nil }

// Job returns one Job; false when there is no such Job.
func (r *Reconciler) Job(name string) (v1alpha1.Job, bool) { return v1alpha1.Job{}, false }

// CronJobs returns every CronJob with its status, sorted by name.
func (r *Reconciler) CronJobs() []v1alpha1.CronJob { return nil }

// CronJob returns one CronJob; false when there is no such CronJob.
func (r *Reconciler) CronJob(name string) (v1alpha1.CronJob, bool) { return v1alpha1.CronJob{}, false }

// JobStats calls fn with the run stats of every Job and CronJob, sorted by
// name (server.JobStatsReader: the proclet_job_* and proclet_cronjob_*
// series). None yet: the Job controller fills it.
func (r *Reconciler) JobStats(fn func(server.JobStats)) {}
