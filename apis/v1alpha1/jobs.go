package v1alpha1

// The run-to-completion kinds: a Job runs its processes until enough of
// them succeeded, once per revision; a CronJob makes a run of its job
// template at the times of a cron schedule.
//
// Inside the daemon a Job and a CronJob travel as an App (the carrier):
// App.Kind says which kind it is, App.Spec holds the process fields every
// instance starts from (JobSpec.ProcessSpec), and App.Job or App.CronJob
// holds the kind's own spec. Names are unique across the three kinds: a
// dependsOn names an App or a Job by the same field.

// The kinds besides App.
const (
	KindJob     = "Job"
	KindCronJob = "CronJob"
)

// MaxJobNameLen bounds the name of a Job and of a CronJob: an instance of
// one is named NAME-RUN-INDEX, and that must stay a DNS-1123 label (63).
const MaxJobNameLen = 44

// Job is an object of kind Job: processes run to completion, once per
// revision of the Job.
type Job struct {
	// APIVersion is the version of the schema: proclet.dev/v1alpha1.
	APIVersion string `json:"apiVersion" validate:"required,eq=proclet.dev/v1alpha1"`
	// Kind is the kind of object: Job.
	Kind string `json:"kind" validate:"required,eq=Job"`
	// Metadata names the job and labels it.
	Metadata ObjectMeta `json:"metadata"`
	// Spec is what to run and when the job is done.
	Spec JobSpec `json:"spec"`
	// Status is the daemon's to report. In a file it is accepted and dropped.
	Status *JobStatus `json:"status,omitempty" validate:"-"`
}

// JobSpec is the desired state of a Job: the process fields of an App and
// how many successes make the job complete. docs/jobs.md describes each
// field.
type JobSpec struct {
	// Command is the program and its arguments, run without a shell;
	// $(VAR) references expand from env and PROCLET_* variables.
	Command []string `json:"command" validate:"required,min=1,dive,nonul"`
	// WorkingDir is the working directory (default: the manifest's
	// folder; a relative path is relative to it).
	WorkingDir string `json:"workingDir,omitempty" validate:"nonul"`
	// User is the user (a name or a uid) to run as; the daemon must run
	// as root.
	User string `json:"user,omitempty" validate:"nonul"`
	// Env are the environment variables, in order; they override envFrom.
	Env []EnvVar `json:"env,omitempty" validate:"dive"`
	// EnvFrom are dotenv files (at most 16) read into the environment
	// before env.
	EnvFrom []EnvFromSource `json:"envFrom,omitempty" validate:"dive"`
	// Resources are the limits of each process.
	Resources Resources `json:"resources,omitempty"`
	// Logs is the rotation of each process's output files (default
	// maxSize 10Mi, maxFiles 5).
	Logs LogSpec `json:"logs,omitempty"`
	// NodeSelector are labels the daemon's --node-labels must all have for
	// the job to run on its host.
	NodeSelector map[string]string `json:"nodeSelector,omitempty" validate:"dive,keys,labelkey,endkeys,labelvalue"`
	// DependsOn are apps or jobs that must be ready (or started, or
	// complete) before the job's first process starts.
	DependsOn []Dependency `json:"dependsOn,omitempty" validate:"dive"`
	// TerminationGracePeriodSeconds is the time between the stop signal and
	// SIGKILL when a run is stopped (default 30); 0 kills at once.
	TerminationGracePeriodSeconds *int64 `json:"terminationGracePeriodSeconds,omitempty" validate:"omitempty,min=0"`
	// StopSignal is the signal that asks a process to stop (default
	// SIGTERM).
	StopSignal string `json:"stopSignal,omitempty" validate:"omitempty,signal"`
	// RestartPolicy is what a failed process does: OnFailure restarts it
	// in place, Never (default) starts a new process for its index.
	// Either way every failure counts against backoffLimit.
	RestartPolicy RestartPolicy `json:"restartPolicy,omitempty" validate:"omitempty,oneof=OnFailure Never"`
	// RestartBackoff is the delay before each retry, as for an App
	// (default initial 1s, max 5m).
	RestartBackoff *BackoffSpec `json:"restartBackoff,omitempty"`
	// Completions is how many processes must succeed for the run to be
	// complete (default 1, at most 10000).
	Completions *int32 `json:"completions,omitempty" validate:"omitempty,min=1,max=10000"`
	// Parallelism is how many processes run at once at most (default 1,
	// at most 10000); 0 pauses the run.
	Parallelism *int32 `json:"parallelism,omitempty" validate:"omitempty,min=0,max=10000"`
	// CompletionMode is NonIndexed (default: any completions successes)
	// or Indexed (one success per index 0..completions-1, given to the
	// process as PROCLET_COMPLETION_INDEX).
	CompletionMode CompletionMode `json:"completionMode,omitempty" validate:"omitempty,oneof=NonIndexed Indexed"`
	// BackoffLimit is how many failed processes make the run Failed
	// (default 6): the run fails at the backoffLimit+1st failure.
	BackoffLimit *int32 `json:"backoffLimit,omitempty" validate:"omitempty,min=0,max=10000"`
	// ActiveDeadlineSeconds bounds a run's time from its start: past it,
	// its processes are stopped and the run is Failed (DeadlineExceeded).
	ActiveDeadlineSeconds *int64 `json:"activeDeadlineSeconds,omitempty" validate:"omitempty,min=1"`
	// TTLSecondsAfterFinished forgets a finished run (its record and
	// logs) this long after it finished; the job is not run again.
	TTLSecondsAfterFinished *int32 `json:"ttlSecondsAfterFinished,omitempty" validate:"omitempty,min=0"`
}

// CompletionMode says what completes a Job.
type CompletionMode string

// The completion modes.
const (
	NonIndexed CompletionMode = "NonIndexed"
	Indexed    CompletionMode = "Indexed"
)

// CronJob is an object of kind CronJob: a run of its job template at the
// times of a cron schedule.
type CronJob struct {
	// APIVersion is the version of the schema: proclet.dev/v1alpha1.
	APIVersion string `json:"apiVersion" validate:"required,eq=proclet.dev/v1alpha1"`
	// Kind is the kind of object: CronJob.
	Kind string `json:"kind" validate:"required,eq=CronJob"`
	// Metadata names the cron job and labels it.
	Metadata ObjectMeta `json:"metadata"`
	// Spec is the schedule and the job to run.
	Spec CronJobSpec `json:"spec"`
	// Status is the daemon's to report. In a file it is accepted and dropped.
	Status *CronJobStatus `json:"status,omitempty" validate:"-"`
}

// CronJobSpec is the desired state of a CronJob.
type CronJobSpec struct {
	// Schedule is when to run: five cron fields (minute hour
	// day-of-month month day-of-week) or a macro such as @hourly, @daily,
	// @weekly, @monthly, @yearly.
	Schedule string `json:"schedule" validate:"required,nonul"`
	// TimeZone is the IANA time zone the schedule is read in (default:
	// the daemon's local time zone), e.g. Europe/Paris.
	TimeZone string `json:"timeZone,omitempty" validate:"nonul"`
	// ConcurrencyPolicy is what a run due while another is active does:
	// Allow (default) runs both, Forbid skips the new one, Replace stops
	// the active one and starts the new.
	ConcurrencyPolicy ConcurrencyPolicy `json:"concurrencyPolicy,omitempty" validate:"omitempty,oneof=Allow Forbid Replace"`
	// StartingDeadlineSeconds is how late a run may still start after its
	// scheduled time (default: no bound); a run later than that is missed.
	StartingDeadlineSeconds *int64 `json:"startingDeadlineSeconds,omitempty" validate:"omitempty,min=0"`
	// Suspend stops scheduling new runs (active ones go on).
	Suspend *bool `json:"suspend,omitempty"`
	// SuccessfulJobsHistoryLimit is how many succeeded runs are kept
	// (default 3).
	SuccessfulJobsHistoryLimit *int32 `json:"successfulJobsHistoryLimit,omitempty" validate:"omitempty,min=0,max=100"`
	// FailedJobsHistoryLimit is how many failed runs are kept (default 1).
	FailedJobsHistoryLimit *int32 `json:"failedJobsHistoryLimit,omitempty" validate:"omitempty,min=0,max=100"`
	// JobTemplate is the job each run is made from.
	JobTemplate JobTemplateSpec `json:"jobTemplate"`
}

// ConcurrencyPolicy says what a CronJob does with a run due while another
// is active.
type ConcurrencyPolicy string

// The concurrency policies.
const (
	AllowConcurrent   ConcurrencyPolicy = "Allow"
	ForbidConcurrent  ConcurrencyPolicy = "Forbid"
	ReplaceConcurrent ConcurrencyPolicy = "Replace"
)

// JobTemplateSpec is the job a CronJob runs.
type JobTemplateSpec struct {
	// Metadata are the labels of the runs.
	Metadata JobTemplateMeta `json:"metadata,omitempty"`
	// Spec is the spec of each run, as the spec of a Job.
	Spec JobSpec `json:"spec"`
}

// JobTemplateMeta is the metadata of a job template.
type JobTemplateMeta struct {
	// Labels are Kubernetes-style labels of each run.
	Labels map[string]string `json:"labels,omitempty" validate:"dive,keys,labelkey,endkeys,labelvalue"`
}

// ProcessSpec is the AppSpec every process of a run of s starts from: its
// process fields, one replica, its restart policy (Never by default).
func (s *JobSpec) ProcessSpec() AppSpec {
	one := int32(1)
	out := AppSpec{
		Replicas: &one, Command: s.Command, WorkingDir: s.WorkingDir, User: s.User,
		Env: s.Env, EnvFrom: s.EnvFrom, Resources: s.Resources, Logs: s.Logs,
		NodeSelector: s.NodeSelector, DependsOn: s.DependsOn,
		TerminationGracePeriodSeconds: s.TerminationGracePeriodSeconds, StopSignal: s.StopSignal,
		RestartPolicy: s.RestartPolicy, RestartBackoff: s.RestartBackoff,
	}
	if out.RestartPolicy == "" {
		out.RestartPolicy = RestartNever
	}
	return out
}

// Carrier is j as the daemon carries it (see the top of this file).
func (j *Job) Carrier() App {
	spec := j.Spec
	return App{APIVersion: j.APIVersion, Kind: KindJob, Metadata: j.Metadata, Spec: spec.ProcessSpec(), Job: &spec}
}

// Carrier is c as the daemon carries it: its process fields are its job
// template's.
func (c *CronJob) Carrier() App {
	spec := c.Spec
	return App{APIVersion: c.APIVersion, Kind: KindCronJob, Metadata: c.Metadata, Spec: spec.JobTemplate.Spec.ProcessSpec(), CronJob: &spec}
}

// IsApp reports whether a is of kind App (not a carried Job or CronJob).
func (a *App) IsApp() bool { return a.Job == nil && a.CronJob == nil }
