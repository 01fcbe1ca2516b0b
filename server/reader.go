package server

import "proclet.dev/proclet/apis/v1alpha1"

// StatusReader is what the server needs from the reconciler. Every method
// but SharedReader's returns copies the caller may keep, and none blocks
// on I/O. SharedReader is part of it, not an optional extra found by a
// type assertion: a reader without it does not compile as a StatusReader.
type StatusReader interface {
	SharedReader
	JobReader
	// Apps returns every app with its status, sorted by name.
	Apps() []v1alpha1.App
	// App returns one app; false when there is no such app.
	App(name string) (v1alpha1.App, bool)
	// Instances returns the instances of app, or of every app when app is
	// empty, sorted by app and ordinal; false for an unknown app.
	Instances(app string) ([]v1alpha1.Instance, bool)
	// Ready reports whether the first full read of the manifests has been
	// reconciled.
	Ready() bool
	// Events returns up to limit events (all when limit <= 0), newest
	// first, of app only when app is not empty.
	Events(app string, limit int) []v1alpha1.Event
	// Manifests returns every manifest file read, sorted by path, with its
	// problem.
	Manifests() []v1alpha1.FileStatus
	// SourceError is why the manifests directory cannot be read now, or "".
	SourceError() string
	// Watch subscribes to changes of apps and instances: first an ADDED
	// event for each that exists, then MODIFIED and DELETED events. The
	// channel is closed after cancel, or when the subscriber falls more
	// than buffer events behind (a slow client is dropped). Object is a
	// v1alpha1.App or a v1alpha1.Instance.
	Watch(buffer int) (events <-chan v1alpha1.WatchEvent, cancel func())
}

// JobReader is what the server reads of Jobs and CronJobs (StatusReader
// includes it). Apps and App never return them: those are of kind App
// only. Their instances (named NAME-RUN-INDEX) are listed by Instances
// under the job's name.
type JobReader interface {
	// Jobs returns every Job with its status, sorted by name.
	Jobs() []v1alpha1.Job
	// Job returns one Job; false when there is no such Job.
	Job(name string) (v1alpha1.Job, bool)
	// CronJobs returns every CronJob with its status, sorted by name.
	CronJobs() []v1alpha1.CronJob
	// CronJob returns one CronJob; false when there is no such CronJob.
	CronJob(name string) (v1alpha1.CronJob, bool)
}
