package v1alpha1

// The defaults of a Job and of a CronJob (docs/manifests.md). The process
// fields (restartPolicy aside: Never) default as an App's.
const (
	DefaultJobCompletions                    = 1
	DefaultJobParallelism                    = 1
	DefaultJobCompletionMode                 = NonIndexed
	DefaultJobBackoffLimit                   = 6
	DefaultJobRestartPolicy                  = RestartNever
	DefaultCronJobConcurrencyPolicy          = AllowConcurrent
	DefaultCronJobSuccessfulJobsHistoryLimit = 3
	DefaultCronJobFailedJobsHistoryLimit     = 1
)

// defaultCarrier defaults a carried Job or CronJob: its own spec, then its
// Spec, made again from that spec's process fields (JobSpec.ProcessSpec),
// defaulted, sharing no memory with it. After it app.Job (or
// app.CronJob.JobTemplate.Spec) has every pointer with a default non-nil:
// Completions, Parallelism, BackoffLimit, TerminationGracePeriodSeconds,
// RestartBackoff, Logs.MaxFiles.
func defaultCarrier(app *App) {
	js := app.Job
	if js == nil {
		defaultCronJobSpec(app.CronJob)
		js = &app.CronJob.JobTemplate.Spec
	}
	defaultJobSpec(js)
	c := js.DeepCopy()
	app.Spec = c.ProcessSpec()
	defaultSpec(&app.Spec)
}

// defaultJobSpec fills the unset fields of s that have a default, in
// place; the process fields get an App's defaults.
func defaultJobSpec(s *JobSpec) {
	if s.Completions == nil {
		s.Completions = ptr(int32(DefaultJobCompletions))
	}
	if s.Parallelism == nil {
		s.Parallelism = ptr(int32(DefaultJobParallelism))
	}
	if s.CompletionMode == "" {
		s.CompletionMode = DefaultJobCompletionMode
	}
	if s.BackoffLimit == nil {
		s.BackoffLimit = ptr(int32(DefaultJobBackoffLimit))
	}
	p := s.ProcessSpec() // restartPolicy Never when unset
	defaultSpec(&p)
	s.RestartPolicy, s.RestartBackoff, s.Logs = p.RestartPolicy, p.RestartBackoff, p.Logs
	s.TerminationGracePeriodSeconds, s.StopSignal, s.DependsOn = p.TerminationGracePeriodSeconds, p.StopSignal, p.DependsOn
}

// defaultCronJobSpec fills the CronJob's own fields (not its template's).
func defaultCronJobSpec(s *CronJobSpec) {
	if s.ConcurrencyPolicy == "" {
		s.ConcurrencyPolicy = DefaultCronJobConcurrencyPolicy
	}
	if s.Suspend == nil {
		s.Suspend = ptr(false)
	}
	if s.SuccessfulJobsHistoryLimit == nil {
		s.SuccessfulJobsHistoryLimit = ptr(int32(DefaultCronJobSuccessfulJobsHistoryLimit))
	}
	if s.FailedJobsHistoryLimit == nil {
		s.FailedJobsHistoryLimit = ptr(int32(DefaultCronJobFailedJobsHistoryLimit))
	}
}
