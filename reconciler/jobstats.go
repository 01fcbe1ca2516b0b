package reconciler

import (
	"reflect"
	"slices"
	"strings"
	"sync"

	"proclet.dev/proclet/apis/v1alpha1"
	"proclet.dev/proclet/server"
)

// storeJob makes next the runs of st (app name) after a pass, marks the
// state file dirty when they changed, counts the runs that finished, and
// reports whether what the job's dependents look at changed. Caller
// holds r.mu.
func (r *Reconciler) storeJob(name string, st *appState, next *jobState) (depChanged bool) {
	if st.desired != nil && !st.desired.App.IsApp() && st.kind != st.desired.App.Kind {
		st.kind = st.desired.App.Kind
		r.saver.markDirty()
	} else if st.desired != nil && st.desired.App.IsApp() && st.kind != "" {
		st.kind = ""
		r.saver.markDirty()
	}
	if reflect.DeepEqual(st.job, next) {
		return false
	}
	prev := st.job
	st.job = next
	r.saver.markDirty()
	kind := v1alpha1.KindJob
	if st.desired != nil {
		kind = st.desired.App.Kind
	}
	r.stats.observe(name, kind, prev, next)
	return jobDepKey(prev) != jobDepKey(next)
}

// depKey is what a job's dependents look at: its newest run and how it
// ended.
type depKey struct {
	run            int64
	revision       string
	result, reason string
}

func jobDepKey(s *jobState) depKey {
	if l := s.latest(); l != nil {
		return depKey{l.Run, l.Revision, string(l.Result), l.Reason}
	}
	return depKey{}
}

// jobStatsStore counts the runs of each Job and CronJob that finished
// since the daemon started (proclet_job_runs_total and
// proclet_job_duration_seconds). Its own lock: a scrape never waits for
// r.mu.
type jobStatsStore struct {
	// mu guards byName.
	mu     sync.Mutex
	byName map[string]*server.JobStats
}

// observe counts the runs finished between prev and next. A run stopped
// because its Job changed or was removed is neither a success nor a
// failure.
func (s *jobStatsStore) observe(name, kind string, prev, next *jobState) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.entryLocked(name, kind)
	if next != nil {
		st.LastSuccess = next.LastSuccess
	}
	for _, run := range nextRuns(next) {
		if !run.finished() || run.Reason == reasonSuperseded || run.Reason == reasonRemoved {
			continue
		}
		if old := prev.find(run.Run); old != nil && old.finished() {
			continue
		}
		if run.Result == v1alpha1.JobComplete {
			st.Succeeded++
		} else {
			st.Failed++
		}
		d := max(run.Finished.Sub(run.Start), 0).Seconds()
		st.DurationSum += d
		st.DurationCount++
		for i, b := range server.JobDurationBuckets {
			if d <= b {
				st.Buckets[i]++
			}
		}
	}
}

func nextRuns(s *jobState) []*jobRun {
	if s == nil {
		return nil
	}
	return s.Runs
}

func (s *jobStatsStore) entryLocked(name, kind string) *server.JobStats {
	if s.byName == nil {
		s.byName = map[string]*server.JobStats{}
	}
	st := s.byName[name]
	if st == nil {
		st = &server.JobStats{Job: name, Kind: kind, Buckets: make([]uint64, len(server.JobDurationBuckets))}
		s.byName[name] = st
	}
	st.Kind = kind
	return st
}

func (s *jobStatsStore) forget(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.byName, name)
}

// jobStatsHooks complete the stats of a kind beyond its runs (a
// CronJob's next schedule and missed slots): kind -> hook, set by the
// kind's controller at init. A hook runs under r.mu (read): it must not
// take it.
var jobStatsHooks = map[string]func(r *Reconciler, name string, st *appState, s *server.JobStats){}

// JobStats calls fn with the stats of every Job and CronJob defined,
// sorted by name (server.JobStatsReader): its runs finished since the
// daemon started, and when one last completed (kept across restarts).
func (r *Reconciler) JobStats(fn func(server.JobStats)) {
	var out []server.JobStats
	r.mu.RLock()
	r.stats.mu.Lock()
	for name, st := range r.apps {
		if st.desired == nil || st.desired.App.IsApp() {
			continue
		}
		s := server.JobStats{Job: name, Kind: st.desired.App.Kind, Buckets: make([]uint64, len(server.JobDurationBuckets))}
		if c := r.stats.byName[name]; c != nil {
			s = *c
			s.Kind = st.desired.App.Kind
			s.Buckets = slices.Clone(c.Buckets)
		}
		if st.job != nil {
			s.LastSuccess = st.job.LastSuccess
		}
		if hook := jobStatsHooks[s.Kind]; hook != nil {
			hook(r, name, st, &s)
		}
		out = append(out, s)
	}
	r.stats.mu.Unlock()
	r.mu.RUnlock()
	slices.SortFunc(out, func(a, b server.JobStats) int { return strings.Compare(a.Job, b.Job) })
	for _, s := range out {
		fn(s)
	}
}

var _ server.JobStatsReader = (*Reconciler)(nil)
