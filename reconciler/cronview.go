package reconciler

import (
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"
	"time"

	"proclet.dev/proclet/apis/v1alpha1"
	"proclet.dev/proclet/runtime"
)

// The derivation of a CronJob's status (pure, as deriveStatus) and its
// readers: its active runs, the schedule's times and missed count, its
// kept runs newest first, and the instances of every kept run.

// cronStatus reports whether in is a CronJob's status to derive.
func cronStatus(in statusInput) bool {
	if in.desired != nil {
		return in.desired.App.CronJob != nil
	}
	return in.applied != nil && in.applied.CronJob != nil
}

// cronJobOf is the CronJob a carrier carries, with no status.
func cronJobOf(app *v1alpha1.App) *v1alpha1.CronJob {
	c := app.DeepCopy()
	cj := &v1alpha1.CronJob{APIVersion: c.APIVersion, Kind: v1alpha1.KindCronJob, Metadata: c.Metadata}
	if c.CronJob != nil {
		cj.Spec = *c.CronJob
	}
	if cj.APIVersion == "" {
		cj.APIVersion = v1alpha1.GroupVersion
	}
	return cj
}

// deriveCronJob is deriveStatus for a CronJob; prev is its last derived
// view (conditions keep their lastTransitionTime).
func deriveCronJob(in statusInput, prev *v1alpha1.CronJob) derivedStatus {
	src := in.applied
	if in.desired != nil {
		src = &in.desired.App
	}
	cj := cronJobOf(src)
	name := cj.Metadata.Name
	s := v1alpha1.CronJobStatus{Active: []string{}, Revision: in.revision, ObservedGeneration: in.generation, Runs: []v1alpha1.JobRun{}}
	if in.desired != nil {
		s.Source, s.SourceRevision = in.desired.Path, in.sourceRevision
	}
	live := map[int64][]runtime.State{}
	for _, o := range in.observed {
		if o.Running() {
			n, _ := runOf(name, o.Instance)
			live[n] = append(live[n], o)
		}
	}
	var runs []*jobRun
	if in.job != nil {
		runs = in.job.Runs
		s.LastSuccessfulTime = timePtr(in.job.LastSuccess)
	}
	for i := len(runs) - 1; i >= 0; i-- {
		run := runs[i]
		if !run.finished() {
			s.Active = append(s.Active, runName(name, run.Run))
		}
		if !run.Expired {
			s.Runs = append(s.Runs, runView(name, run, live[run.Run]))
		}
	}
	cs := cronStateOf(in.job)
	if cs != nil {
		s.LastScheduleTime, s.MissedSchedules = timePtr(cs.Last), cs.Missed
		if !cronOff(in, cj) {
			s.NextScheduleTime = timePtr(cs.Next)
		}
	}
	s.Conditions = cronConditions(in, cj, cs, prev)
	cj.Status = &s
	return derivedStatus{cronJob: cj, instances: jobInstances(in, name, runs, live)}
}

// cronOff reports whether cj makes no run now: suspended, or not on this
// host.
func cronOff(in statusInput, cj *v1alpha1.CronJob) bool {
	return (cj.Spec.Suspend != nil && *cj.Spec.Suspend) || !in.nodeMatches
}

// cronConditions are Scheduled (True while slots make runs, else False
// saying why: Suspended, NodeSelectorMismatch, InvalidSchedule) and
// ManifestValid.
func cronConditions(in statusInput, cj *v1alpha1.CronJob, cs *cronState, prev *v1alpha1.CronJob) []v1alpha1.Condition {
	var conds []v1alpha1.Condition
	switch {
	case cs != nil && cs.Error != "":
		conds = append(conds, cond(v1alpha1.ConditionScheduled, v1alpha1.ConditionFalse, "InvalidSchedule", cs.Error))
	case cj.Spec.Suspend != nil && *cj.Spec.Suspend:
		conds = append(conds, cond(v1alpha1.ConditionScheduled, v1alpha1.ConditionFalse, "Suspended", "suspend is true: no new run is made"))
	case in.pass.app != nil && !in.nodeMatches:
		conds = append(conds, notScheduled(in.pass.app.Spec.NodeSelector, in.nodeLabels))
	default:
		conds = append(conds, cond(v1alpha1.ConditionScheduled, v1alpha1.ConditionTrue, "Scheduled", cronNextMessage(cs)))
	}
	if in.fileErr != nil {
		conds = append(conds, cond(v1alpha1.ConditionManifestValid, v1alpha1.ConditionFalse, in.fileErr.Reason,
			in.fileErr.Error()+"; running the last valid version"))
	} else {
		conds = append(conds, cond(v1alpha1.ConditionManifestValid, v1alpha1.ConditionTrue, "Applied", ""))
	}
	for i := range conds {
		conds[i].LastTransitionTime = in.now
		if prev == nil || prev.Status == nil {
			continue
		}
		for _, p := range prev.Status.Conditions {
			if p.Type == conds[i].Type && p.Status == conds[i].Status {
				conds[i].LastTransitionTime = p.LastTransitionTime
			}
		}
	}
	return conds
}

func cronNextMessage(cs *cronState) string {
	if cs == nil || cs.Next.IsZero() {
		return "no next slot"
	}
	return fmt.Sprintf("next run at %s", stamp(cs.Next))
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

// derivedCronJob is the CronJob view the last pass of app derived (nil:
// none).
func (s *statusStore) derivedCronJob(app string) *v1alpha1.CronJob {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if sh := s.apps[app]; sh != nil {
		return sh.cronJob
	}
	return nil
}

func (s *statusStore) cronJobs() []v1alpha1.CronJob {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var out []v1alpha1.CronJob
	for _, sh := range s.apps {
		if c := sh.cronJobCopy(); c != nil {
			out = append(out, *c)
		}
	}
	slices.SortFunc(out, func(a, b v1alpha1.CronJob) int { return strings.Compare(a.Metadata.Name, b.Metadata.Name) })
	return out
}

func (s *statusStore) cronJob(name string) (v1alpha1.CronJob, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if sh := s.apps[name]; sh != nil {
		if c := sh.cronJobCopy(); c != nil {
			return *c, true
		}
	}
	return v1alpha1.CronJob{}, false
}

// cronJobCopy is the CronJob as last derived, or, before its first pass,
// the desired CronJob with an empty status; nil when sh is no CronJob.
// Caller holds the status store's lock.
func (sh *shownApp) cronJobCopy() *v1alpha1.CronJob {
	if sh.desired != nil && sh.desired.App.CronJob == nil {
		return nil // another kind now
	}
	if sh.cronJob != nil {
		c := copyCronJob(sh.cronJob)
		if sh.desired != nil && sh.desired.App.Metadata.Generation != c.Metadata.Generation {
			c.Metadata.Generation = sh.desired.App.Metadata.Generation // an edit not acted on yet
		}
		return c
	}
	if sh.desired == nil {
		return nil
	}
	c := cronJobOf(&sh.desired.App)
	c.Status = &v1alpha1.CronJobStatus{Active: []string{}, Source: sh.desired.Path, Conditions: []v1alpha1.Condition{}, Runs: []v1alpha1.JobRun{}}
	return c
}

// copyCronJob is a deep copy of c.
func copyCronJob(c *v1alpha1.CronJob) *v1alpha1.CronJob {
	out := *c
	out.Metadata.Labels = maps.Clone(c.Metadata.Labels)
	out.Metadata.Annotations = maps.Clone(c.Metadata.Annotations)
	spec := c.Spec
	out.Spec = *(&v1alpha1.App{CronJob: &spec}).DeepCopy().CronJob
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

// cronJobChanges are the watch events between a CronJob's previous view
// and its new one (nil: none). Caller holds the status store's lock.
func cronJobChanges(prev, cur *v1alpha1.CronJob) []WatchEvent {
	switch {
	case cur == nil && prev != nil:
		return []WatchEvent{{Type: WatchDeleted, Kind: v1alpha1.KindCronJob, Object: *copyCronJob(prev)}}
	case cur != nil && prev == nil:
		return []WatchEvent{{Type: WatchAdded, Kind: v1alpha1.KindCronJob, Object: *copyCronJob(cur)}}
	case cur != nil && !reflect.DeepEqual(prev, cur):
		return []WatchEvent{{Type: WatchModified, Kind: v1alpha1.KindCronJob, Object: *copyCronJob(cur)}}
	}
	return nil
}
