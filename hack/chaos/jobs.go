package main

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// The Jobs and CronJobs of the chaos: what the test wants of them and how
// it writes them. Every process of a Job or CronJob run writes a mark
// (workload --mark-start) into the run's marks directory: the instance's
// name, its pid and when it started. The marks are what the run-once
// invariants (jobcheck.go) are checked against.

// jobModel is one Job or CronJob of the model.
type jobModel struct {
	name string
	file string
	cron bool
	// forbid: concurrencyPolicy Forbid (a CronJob), else Allow.
	forbid bool
	rev    int // bumped by a roll: a new revision, which a Job runs again
}

// Job names are never reused (a removed Job's name comes back as a new
// Job that runs again from run 1, which the marks could not tell from a
// run made twice): jobs are numbered by jobFleet.next.
const (
	maxJobs = 2
	// jobRunFor is how long a Job's process runs before it exits 0.
	jobRunFor = 2 * time.Second
	// cronRunFor is how long a CronJob's process runs: longer than the
	// period of its schedule (a minute), so that runs would overlap under
	// Forbid if it were not applied.
	cronRunFor = 70 * time.Second
)

// jobFleet are the Jobs and CronJobs of the model.
type jobFleet struct {
	workload string
	rate     int
	marks    string // the marks directory
	jobs     map[string]*jobModel
	next     int // the number of the next Job's name
}

func newJobFleet(workload string, rate int, marks string) *jobFleet {
	return &jobFleet{workload: workload, rate: rate, marks: marks, jobs: map[string]*jobModel{}}
}

// initial puts the two CronJobs (one Forbid, one Allow) and a first Job
// into the model and returns them.
func (f *jobFleet) initial() []*jobModel {
	f.jobs["cron-forbid"] = &jobModel{name: "cron-forbid", file: "cron-forbid.yaml", cron: true, forbid: true}
	f.jobs["cron-allow"] = &jobModel{name: "cron-allow", file: filepath.Join("team", "cron-allow.yaml"), cron: true}
	j := f.addJob()
	return []*jobModel{f.jobs["cron-forbid"], f.jobs["cron-allow"], j}
}

func (f *jobFleet) addJob() *jobModel {
	j := &jobModel{name: fmt.Sprintf("job-%d", f.next)}
	j.file = j.name + ".yaml"
	f.next++
	f.jobs[j.name] = j
	return j
}

func (f *jobFleet) names(keep func(*jobModel) bool) []string {
	var out []string
	for n, j := range f.jobs {
		if keep(j) {
			out = append(out, n)
		}
	}
	slices.Sort(out)
	return out
}

// plan picks the next change of a Job or CronJob and applies it to the
// model: add a Job, roll one (a new revision: a new run), remove one, or
// roll a CronJob's template. Every draw comes from r.
func (f *jobFleet) plan(r *rand.Rand) (change, bool) {
	n, pick := r.IntN(10), r.IntN(1<<30)
	jobs := f.names(func(j *jobModel) bool { return !j.cron })
	switch {
	case n < 3 && len(jobs) < maxJobs:
		j := f.addJob()
		return change{kindAdd, j.name, j.file}, true
	case n < 7 && len(jobs) > 0:
		j := f.jobs[jobs[pick%len(jobs)]]
		j.rev++
		return change{kindRoll, j.name, j.file}, true
	case n < 9 && len(jobs) > 0:
		j := f.jobs[jobs[pick%len(jobs)]]
		delete(f.jobs, j.name)
		return change{kindRemove, j.name, j.file}, true
	case n == 9:
		crons := f.names(func(j *jobModel) bool { return j.cron })
		j := f.jobs[crons[pick%len(crons)]]
		j.rev++
		return change{kindRoll, j.name, j.file}, true
	}
	return change{}, false
}

// command is the argv of j's processes: they print numbered lines as an
// App's do, mark their start, and exit 0 after a while. A roll changes an
// argument with no effect (--alloc-interval, without --alloc-step).
func (f *jobFleet) command(j *jobModel) []string {
	runFor := jobRunFor
	if j.cron {
		runFor = cronRunFor
	}
	return []string{f.workload, "--stdout-rate", strconv.Itoa(f.rate), "--line-id", "--mark-start", f.marks,
		"--exit-after", runFor.String(), "--exit-code", "0", "--alloc-interval", fmt.Sprintf("%ds", j.rev+1)}
}

// manifest renders j's file.
func (f *jobFleet) manifest(j *jobModel) string {
	var spec strings.Builder
	q := make([]string, 0, 16)
	for _, arg := range f.command(j) {
		q = append(q, strconv.Quote(arg))
	}
	fmt.Fprintf(&spec, "command: [%s]\n", strings.Join(q, ", "))
	// As the Apps: a short backoff (chaos kills the processes), a short
	// grace, small log files, none rotated away.
	spec.WriteString("restartBackoff: {initial: 1s, max: 4s}\nterminationGracePeriodSeconds: 3\n")
	spec.WriteString("logs: {maxSize: 8Ki, maxFiles: 1000}\nbackoffLimit: 20\n")
	if !j.cron {
		return fmt.Sprintf("apiVersion: proclet.dev/v1alpha1\nkind: Job\nmetadata:\n  name: %s\nspec:\n%s", j.name, indent(spec.String(), "  "))
	}
	policy := "Allow"
	if j.forbid {
		policy = "Forbid"
	}
	return fmt.Sprintf("apiVersion: proclet.dev/v1alpha1\nkind: CronJob\nmetadata:\n  name: %s\nspec:\n"+
		"  schedule: \"* * * * *\"\n  timeZone: UTC\n  concurrencyPolicy: %s\n"+
		"  successfulJobsHistoryLimit: 100\n  failedJobsHistoryLimit: 100\n"+
		"  jobTemplate:\n    spec:\n%s", j.name, policy, indent(spec.String(), "      "))
}

func indent(s, by string) string {
	lines := strings.SplitAfter(s, "\n")
	var b strings.Builder
	for _, l := range lines {
		if l != "" {
			b.WriteString(by + l)
		}
	}
	return b.String()
}

// startMark is one process start of a Job's or CronJob's run, as its mark
// says: instance NAME-RUN-INDEX, pid, start time.
type startMark struct {
	instance string
	pid      int
	start    time.Time
}

// readMarks reads every mark of dir (INSTANCE.PID files holding the start
// in Unix nanoseconds), sorted by start.
func readMarks(dir string) ([]startMark, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("read marks: %w", err)
	}
	var out []startMark
	for _, e := range entries {
		inst, pidStr, ok := cutLast(e.Name(), ".")
		pid, err := strconv.Atoi(pidStr)
		if !ok || err != nil {
			return nil, fmt.Errorf("read marks: %s: not INSTANCE.PID", e.Name())
		}
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			return nil, fmt.Errorf("read marks: %w", err)
		}
		ns, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
		if err != nil {
			return nil, fmt.Errorf("read marks: %s: %w", e.Name(), err)
		}
		out = append(out, startMark{instance: inst, pid: pid, start: time.Unix(0, ns)})
	}
	slices.SortFunc(out, func(a, b startMark) int { return a.start.Compare(b.start) })
	return out, nil
}

func cutLast(s, sep string) (string, string, bool) {
	i := strings.LastIndex(s, sep)
	if i < 0 {
		return "", "", false
	}
	return s[:i], s[i+len(sep):], true
}

// runOfInstance parses NAME-RUN-INDEX: the job's name and the run.
func runOfInstance(instance string) (job string, run int64, ok bool) {
	rest, _, ok := cutLast(instance, "-")
	if !ok {
		return "", 0, false
	}
	job, num, ok := cutLast(rest, "-")
	if !ok {
		return "", 0, false
	}
	run, err := strconv.ParseInt(num, 10, 64)
	return job, run, err == nil
}
