package reconciler

// The run machinery of Jobs (and of CronJobs, which make their runs with
// it). How a caller drives it, in one pass of one Job or CronJob:
//
//	out, ok := jobPassOutput(in) // out.job: a clone of in.job, the runs so far
//	if !ok { return out }        // before the first snapshot, or held
//	p := newJobPlanner(in, spec, &out) // spec: the JobSpec (nil: removed)
//	p.adopt() / p.adoptCron()    // runs the state file lost, from their processes
//	p.absorb()                   // the exits of every run's instances
//	if spec == nil { p.remove(); return out } // stop all, then forget
//	p.stopStray()                // processes of no kept run
//	run := p.newRun(number, revision, scheduled) // when a run is due
//	p.stopRun(run, reason, message) // to end an active run early (Failed)
//	for _, run := range out.job.Runs {
//		p.planRun(run) // EVERY run kept, active or not: completion,
//	}                  // backoffLimit, deadline, starts, ttl, stops
//	p.drop(run) / p.trim(limit) // history: forget finished runs
//	return out
//
// out.job is then the new state (stored by storePass, saved in the state
// file); out.actions start the instances NAME-RUN-INDEX (action.run) and
// stop them; p.live are the running processes by run number. planJob
// (jobplan.go) is the Job's pass: at most one run per revision, the newest
// run is the current one. A CronJob keeps several runs at once in the
// same jobState.Runs, each numbered by its slot; runView and
// jobInstances (jobderive.go) show them; jobStatsHooks completes its
// metrics.

import (
	"fmt"
	"maps"
	"math/bits"
	"slices"
	"strconv"
	"strings"
	"time"

	"proclet.dev/proclet/apis/v1alpha1"
	"proclet.dev/proclet/runtime"
)

// Defaults of a JobSpec's fields, for a spec the decoder has not
// defaulted: every field is read through jobParams.
const (
	defaultCompletions  = 1
	defaultParallelism  = 1
	defaultBackoffLimit = 6
)

// maxJobRuns bounds the runs a Job keeps (docs/jobs.md, History): the
// oldest finished ones go first.
const maxJobRuns = 10

// maxKeptIndexes bounds the per-index records (slots) a finished run
// keeps: its indexes that did not succeed first, then the lowest
// succeeded ones; every success is in jobRun.Done. With maxJobRuns it
// bounds a Job's part of the state file (256 KB at most: docs/jobs.md).
const maxKeptIndexes = 100

// jobState is what the reconciler holds of a Job's or CronJob's runs. It
// is saved in the state file (savedApp.Job) and replaced by each pass,
// never mutated once stored (the encoder compares it by pointer).
type jobState struct {
	// Runs are the runs kept, oldest first.
	Runs []*jobRun `json:"runs,omitempty"`
	// LastSuccess is when a run last completed (kept after the run is
	// gone: proclet_job_last_success_timestamp_seconds).
	LastSuccess time.Time `json:"lastSuccess,omitzero"`
	// Cron is a CronJob's schedule state (cronjob.go); nil for a Job.
	Cron *cronState `json:"cron,omitempty"`
}

// jobRun is one run: its indexes' slots and how it ended.
type jobRun struct {
	Run       int64              `json:"run"`
	Revision  string             `json:"revision"`
	Scheduled time.Time          `json:"scheduled,omitzero"` // a CronJob's slot
	Start     time.Time          `json:"start"`
	Finished  time.Time          `json:"finished,omitzero"`
	Result    v1alpha1.JobResult `json:"result,omitempty"`
	Reason    string             `json:"reason,omitempty"`
	Message   string             `json:"message,omitempty"`
	// Done are the indexes that succeeded; Failed counts failed
	// processes (every failure, retries included).
	Done   indexSet     `json:"done,omitempty"`
	Failed int32        `json:"failed,omitempty"`
	Slots  map[int]slot `json:"slots,omitempty"` // by index
	// Expired: ttlSecondsAfterFinished passed; only the record that the
	// run happened is kept (its revision is not run again).
	Expired bool `json:"expired,omitempty"`
}

func (r *jobRun) finished() bool { return r.Result != "" }

// clone is a copy of s sharing nothing a pass may change.
func (s *jobState) clone() *jobState {
	if s == nil {
		return &jobState{}
	}
	out := &jobState{LastSuccess: s.LastSuccess, Cron: s.Cron}
	for _, r := range s.Runs {
		c := *r
		c.Done = slices.Clone(r.Done)
		c.Slots = maps.Clone(r.Slots)
		out.Runs = append(out.Runs, &c)
	}
	return out
}

// latest is the newest run, nil when there is none.
func (s *jobState) latest() *jobRun {
	if s == nil || len(s.Runs) == 0 {
		return nil
	}
	return s.Runs[len(s.Runs)-1]
}

// find is the run numbered n, nil when it is not kept.
func (s *jobState) find(n int64) *jobRun {
	if s == nil {
		return nil
	}
	for _, r := range s.Runs {
		if r.Run == n {
			return r
		}
	}
	return nil
}

// jobParams are a JobSpec's fields with their defaults applied.
type jobParams struct {
	completions, parallelism int
	backoffLimit             int32
	indexed                  bool
	deadline, ttl            time.Duration
	hasDeadline, hasTTL      bool
}

func paramsOf(s *v1alpha1.JobSpec) jobParams {
	p := jobParams{completions: defaultCompletions, parallelism: defaultParallelism, backoffLimit: defaultBackoffLimit}
	if s == nil {
		return p
	}
	if s.Completions != nil {
		p.completions = max(int(*s.Completions), 1)
	}
	if s.Parallelism != nil {
		p.parallelism = max(int(*s.Parallelism), 0)
	}
	if s.BackoffLimit != nil {
		p.backoffLimit = max(*s.BackoffLimit, 0)
	}
	p.indexed = s.CompletionMode == v1alpha1.Indexed
	if d := s.ActiveDeadlineSeconds; d != nil && *d > 0 {
		p.deadline, p.hasDeadline = time.Duration(min(*d, int64(1<<33)))*time.Second, true
	}
	if t := s.TTLSecondsAfterFinished; t != nil {
		p.ttl, p.hasTTL = seconds(*t), true
	}
	return p
}

// liveByRun are the running processes of observed, by the run their
// instance name says (0: not a run's) of the Job or CronJob name.
func liveByRun(name string, observed []runtime.State) map[int64][]runtime.State {
	live := map[int64][]runtime.State{}
	for _, o := range observed {
		if o.Running() {
			n, _ := runOf(name, o.Instance)
			live[n] = append(live[n], o)
		}
	}
	return live
}

// runName is NAME-RUN, the name of a run (and its instances' prefix).
func runName(job string, run int64) string { return job + "-" + strconv.FormatInt(run, 10) }

// jobInstance is NAME-RUN-INDEX, the instance of index idx of a run.
func jobInstance(job string, run int64, idx int) string {
	return runName(job, run) + "-" + strconv.Itoa(idx)
}

// runOf parses the run number of instance NAME-RUN-INDEX of job.
func runOf(job, instance string) (int64, bool) {
	rest, ok := strings.CutPrefix(instance, job+"-")
	if !ok {
		return 0, false
	}
	num, _, ok := strings.Cut(rest, "-")
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseInt(num, 10, 64)
	return n, err == nil && n > 0
}

// indexSet is a set of indexes, a bit per index.
type indexSet []uint64

func (s indexSet) has(i int) bool { return i/64 < len(s) && s[i/64]&(1<<(i%64)) != 0 }

func (s *indexSet) add(i int) {
	for len(*s) <= i/64 {
		*s = append(*s, 0)
	}
	(*s)[i/64] |= 1 << (i % 64)
}

func (s indexSet) count() int {
	n := 0
	for _, w := range s {
		n += bits.OnesCount64(w)
	}
	return n
}

// String is the set as Kubernetes writes completedIndexes: "0-3,5".
func (s indexSet) String() string {
	var b strings.Builder
	n := len(s) * 64
	for i := 0; i < n; i++ {
		if !s.has(i) {
			continue
		}
		j := i
		for j+1 < n && s.has(j+1) {
			j++
		}
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		if j > i {
			fmt.Fprintf(&b, "%d-%d", i, j)
		} else {
			b.WriteString(strconv.Itoa(i))
		}
		i = j
	}
	return b.String()
}
