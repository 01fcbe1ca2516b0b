package v1alpha1

import "time"

// JobStatus is what the daemon reports about a Job: its current run (the
// run of its current revision) and the runs kept before it.
type JobStatus struct {
	// Active, Succeeded and Failed count the current run's processes:
	// running now, exited 0, and failed (each failure, retries included).
	Active    int32 `json:"active"`
	Succeeded int32 `json:"succeeded"`
	Failed    int32 `json:"failed"`
	// StartTime is when the current run started; CompletionTime when it
	// completed (only for a Complete run).
	StartTime      *time.Time `json:"startTime,omitempty"`
	CompletionTime *time.Time `json:"completionTime,omitempty"`
	// CompletedIndexes are the indexes that succeeded, for an Indexed
	// job, as Kubernetes writes them ("0-3,5").
	CompletedIndexes string `json:"completedIndexes,omitempty"`
	// Conditions are Complete, Failed (reason BackoffLimitExceeded or
	// DeadlineExceeded), ManifestValid and Scheduled.
	Conditions []Condition `json:"conditions"`
	// Run is the current run's number (1 for the first revision run);
	// Revision its revision.
	Run                int64  `json:"run"`
	Revision           string `json:"revision"`
	ObservedGeneration int64  `json:"observedGeneration"`
	Source             string `json:"source"`
	SourceRevision     string `json:"sourceRevision,omitempty"`
	// Runs are the runs kept, newest first (the current one included).
	Runs []JobRun `json:"runs"`
}

// JobRun is one run of a Job or of a CronJob. Its processes are the
// instances named NAME-RUN-INDEX.
type JobRun struct {
	// Name is NAME-RUN: the prefix of its instances' names.
	Name string `json:"name"`
	// Labels are a CronJob's jobTemplate.metadata.labels, on each of its
	// runs.
	Labels   map[string]string `json:"labels,omitempty"`
	Run      int64             `json:"run"`
	Revision string            `json:"revision"`
	// ScheduledTime is the schedule slot a CronJob's run was made for.
	ScheduledTime  *time.Time `json:"scheduledTime,omitempty"`
	StartTime      *time.Time `json:"startTime,omitempty"`
	CompletionTime *time.Time `json:"completionTime,omitempty"`
	Active         int32      `json:"active"`
	Succeeded      int32      `json:"succeeded"`
	Failed         int32      `json:"failed"`
	// Result is "" while the run is active, else JobComplete or JobFailed;
	// Reason says why a run failed (BackoffLimitExceeded,
	// DeadlineExceeded) or was stopped (Replaced, Removed, Superseded).
	Result  JobResult `json:"result,omitempty"`
	Reason  string    `json:"reason,omitempty"`
	Message string    `json:"message,omitempty"`
	// FinishedAt is when the run completed or failed.
	FinishedAt *time.Time `json:"finishedAt,omitempty"`
}

// JobResult is how a run ended.
type JobResult string

// The results of a run.
const (
	JobComplete JobResult = "Complete"
	JobFailed   JobResult = "Failed"
)

// Condition types and reasons of a Job.
const (
	ConditionComplete          = "Complete"
	ConditionFailed            = "Failed"
	ReasonBackoffLimitExceeded = "BackoffLimitExceeded"
	ReasonDeadlineExceeded     = "DeadlineExceeded"
)

// CronJobStatus is what the daemon reports about a CronJob.
type CronJobStatus struct {
	// Active are the names (NAME-RUN) of its runs active now.
	Active []string `json:"active"`
	// LastScheduleTime is the slot of the last run made; LastSuccessfulTime
	// when a run last completed; NextScheduleTime the next slot (nil when
	// suspended or the schedule has no next time).
	LastScheduleTime   *time.Time `json:"lastScheduleTime,omitempty"`
	LastSuccessfulTime *time.Time `json:"lastSuccessfulTime,omitempty"`
	NextScheduleTime   *time.Time `json:"nextScheduleTime,omitempty"`
	// MissedSchedules counts the slots not run (past
	// startingDeadlineSeconds, or skipped under Forbid), across daemon
	// restarts.
	MissedSchedules    int64       `json:"missedSchedules"`
	Conditions         []Condition `json:"conditions"`
	Revision           string      `json:"revision"`
	ObservedGeneration int64       `json:"observedGeneration"`
	Source             string      `json:"source"`
	SourceRevision     string      `json:"sourceRevision,omitempty"`
	// Runs are the runs kept (active, and the last succeeded and failed
	// ones within the history limits), newest first.
	Runs []JobRun `json:"runs"`
}
