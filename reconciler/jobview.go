package reconciler

import (
	"maps"
	"slices"
	"strings"
	"time"

	"proclet.dev/proclet/apis/v1alpha1"
)

// Jobs returns every Job with its status, sorted by name (deep copies).
func (r *Reconciler) Jobs() []v1alpha1.Job {
	return shownAll(r.status, (*shownApp).jobCopy, func(j v1alpha1.Job) string { return j.Metadata.Name })
}

// Job returns one Job (a deep copy); false when there is no such Job.
func (r *Reconciler) Job(name string) (v1alpha1.Job, bool) {
	return shownOne(r.status, name, (*shownApp).jobCopy)
}

// CronJobs returns every CronJob with its status, sorted by name (deep
// copies).
func (r *Reconciler) CronJobs() []v1alpha1.CronJob {
	return shownAll(r.status, (*shownApp).cronCopy, func(c v1alpha1.CronJob) string { return c.Metadata.Name })
}

// CronJob returns one CronJob (a deep copy); false when there is no such
// CronJob.
func (r *Reconciler) CronJob(name string) (v1alpha1.CronJob, bool) {
	return shownOne(r.status, name, (*shownApp).cronCopy)
}

// shownAll is every shown object of one kind, as copyOf copies it (nil:
// not of that kind), sorted by name.
func shownAll[T any](s *statusStore, copyOf func(*shownApp) *T, name func(T) string) []T {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var out []T
	for _, sh := range s.apps {
		if v := copyOf(sh); v != nil {
			out = append(out, *v)
		}
	}
	slices.SortFunc(out, func(a, b T) int { return strings.Compare(name(a), name(b)) })
	return out
}

// shownOne is the shown object name as copyOf copies it; false when there
// is none of that kind.
func shownOne[T any](s *statusStore, name string, copyOf func(*shownApp) *T) (T, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if sh := s.apps[name]; sh != nil {
		if v := copyOf(sh); v != nil {
			return *v, true
		}
	}
	var zero T
	return zero, false
}

// cronCopy is jobCopy for a CronJob.
func (sh *shownApp) cronCopy() *v1alpha1.CronJob {
	if sh.desired != nil && sh.desired.App.CronJob == nil {
		return nil // another kind now
	}
	if sh.cron != nil {
		c := copyCron(sh.cron)
		if sh.desired != nil && sh.desired.App.Metadata.Generation != c.Metadata.Generation {
			c.Metadata.Generation = sh.desired.App.Metadata.Generation
		}
		return c
	}
	if sh.desired == nil {
		return nil
	}
	c := cronOf(&sh.desired.App)
	c.Status = &v1alpha1.CronJobStatus{Source: sh.desired.Path, Active: []string{}, Conditions: []v1alpha1.Condition{}, Runs: []v1alpha1.JobRun{}}
	return c
}

// copyCron is a deep copy of c.
func copyCron(c *v1alpha1.CronJob) *v1alpha1.CronJob {
	spec := c.Spec
	carried := (&v1alpha1.App{CronJob: &spec}).DeepCopy() // the spec's deep copy
	out := *c
	out.Metadata.Labels = maps.Clone(c.Metadata.Labels)
	out.Metadata.Annotations = maps.Clone(c.Metadata.Annotations)
	out.Spec = *carried.CronJob
	if c.Status != nil {
		s := *c.Status
		s.Active = slices.Clone(s.Active)
		s.LastScheduleTime, s.LastSuccessfulTime = cloneTime(s.LastScheduleTime), cloneTime(s.LastSuccessfulTime)
		s.NextScheduleTime = cloneTime(s.NextScheduleTime)
		s.Conditions = slices.Clone(s.Conditions)
		s.Runs = slices.Clone(s.Runs)
		for i := range s.Runs {
			s.Runs[i] = copyRun(s.Runs[i])
		}
		out.Status = &s
	}
	return &out
}

// jobCopy is the Job as last derived, or, before its first pass, the
// desired Job with an empty status; nil when sh is no Job. Caller holds
// the status store's lock.
func (sh *shownApp) jobCopy() *v1alpha1.Job {
	if sh.desired != nil && sh.desired.App.Job == nil {
		return nil // another kind now
	}
	if sh.job != nil {
		j := copyJob(sh.job)
		if sh.desired != nil && sh.desired.App.Metadata.Generation != j.Metadata.Generation {
			j.Metadata.Generation = sh.desired.App.Metadata.Generation // an edit not acted on yet
		}
		return j
	}
	if sh.desired == nil {
		return nil
	}
	j := jobOf(&sh.desired.App)
	j.Status = &v1alpha1.JobStatus{Source: sh.desired.Path, Conditions: []v1alpha1.Condition{}, Runs: []v1alpha1.JobRun{}}
	return j
}

// copyJob is a deep copy of j.
func copyJob(j *v1alpha1.Job) *v1alpha1.Job {
	out := *j
	out.Metadata.Labels = maps.Clone(j.Metadata.Labels)
	out.Metadata.Annotations = maps.Clone(j.Metadata.Annotations)
	out.Spec = j.Spec.DeepCopy()
	if j.Status != nil {
		s := *j.Status
		s.StartTime, s.CompletionTime = cloneTime(s.StartTime), cloneTime(s.CompletionTime)
		s.Conditions = slices.Clone(s.Conditions)
		s.Runs = slices.Clone(s.Runs)
		for i := range s.Runs {
			s.Runs[i] = copyRun(s.Runs[i])
		}
		out.Status = &s
	}
	return &out
}

// copyRun is a deep copy of r.
func copyRun(r v1alpha1.JobRun) v1alpha1.JobRun {
	r.Labels = maps.Clone(r.Labels)
	r.ScheduledTime, r.StartTime = cloneTime(r.ScheduledTime), cloneTime(r.StartTime)
	r.CompletionTime, r.FinishedAt = cloneTime(r.CompletionTime), cloneTime(r.FinishedAt)
	return r
}

func cloneTime(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	c := *t
	return &c
}
