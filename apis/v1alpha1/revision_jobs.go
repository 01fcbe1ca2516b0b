package v1alpha1

// The revision of a Job and of a CronJob: what a run is made from. A Job
// runs once per revision (a new revision starts a new run), and each run
// of a CronJob records the revision it was made from.
//
// It covers the kind and the defaulted job spec: the process fields
// (command, env, envFrom, workingDir, user, resources, logs, restart
// policy and backoff, stop signal, grace period) and completions,
// parallelism, completionMode, backoffLimit and activeDeadlineSeconds;
// with, as an App's, the restartedAt annotation and the digest of the
// files it reads. It leaves out what does not change a run:
// ttlSecondsAfterFinished (how long a finished run is kept), dependsOn
// and nodeSelector (when and where it runs, as for an App), the labels,
// and all of a CronJob's own fields (schedule, timeZone,
// concurrencyPolicy, startingDeadlineSeconds, suspend, the history
// limits): a new schedule changes when the next runs are made, and
// neither stops nor restarts an active run.

// jobRevision is AppRevision of a carried Job or CronJob.
func jobRevision(app *App, contentDigest string) string {
	kind := KindJob
	if app.Job == nil {
		kind = KindCronJob
	}
	js := app.JobSpec()
	v := js.DeepCopy()
	defaultJobSpec(&v)
	v.TTLSecondsAfterFinished = nil
	v.DependsOn = nil
	v.NodeSelector = nil
	return canonicalHash(jobRevisionView{kind, &v, app.Metadata.Annotations[RestartedAtAnnotation], contentDigest})
}

// jobRevisionView is what jobRevision hashes.
type jobRevisionView struct {
	Kind        string   `json:"kind"`
	Job         *JobSpec `json:"job"`
	RestartedAt string   `json:"restartedAt,omitempty"`
	Content     string   `json:"content,omitempty"`
}
