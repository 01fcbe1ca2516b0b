package reconciler

import "proclet.dev/proclet/apis/v1alpha1"

// Jobs returns every Job with its status, sorted by name.
func (r *Reconciler) Jobs() []v1alpha1.Job { return nil }

// Job returns one Job; false when there is no such Job.
func (r *Reconciler) Job(name string) (v1alpha1.Job, bool) { return v1alpha1.Job{}, false }

// CronJobs returns every CronJob with its status, sorted by name.
func (r *Reconciler) CronJobs() []v1alpha1.CronJob { return nil }

// CronJob returns one CronJob; false when there is no such CronJob.
func (r *Reconciler) CronJob(name string) (v1alpha1.CronJob, bool) { return v1alpha1.CronJob{}, false }
