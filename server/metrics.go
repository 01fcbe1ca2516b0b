package server

import (
	"time"

	"hash/maphash"
	"slices"
	"strings"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"proclet.dev/proclet/apis/v1alpha1"
)

// MetricsSources are what the metrics collector reads at each scrape.
// Every one is required (NewCollector panics on a nil one): each is an
// explicit field rather than an interface the collector would look for on
// the state by a type assertion, so that a source that loses its method
// (a rename) fails to compile instead of silently dropping its series.
type MetricsSources struct {
	// State is the apps and instances: the proclet_app_* and
	// proclet_instance_* series and proclet_ports_allocated. The
	// reconciler.
	State SharedReader
	// Exits is proclet_instance_exits_total. The reconciler.
	Exits ExitCountsReader
	// Probes is proclet_probe_results_total and
	// proclet_probe_duration_seconds. A ProbeRecorder the runtime records
	// into.
	Probes ProbeStatsReader
	// Jobs is proclet_job_* and proclet_cronjob_* (metrics_jobs.go). The
	// reconciler; nil: no job series.
	Jobs JobStatsReader
}

// JobStats are the runs of one Job or CronJob so far (since the daemon
// started, except LastSuccess, which is kept across restarts).
type JobStats struct {
	Job  string // the Job's or CronJob's name
	Kind string // "Job" or "CronJob"
	// Runs counts the finished runs by result: "succeeded" or "failed".
	Succeeded, Failed uint64
	// DurationSum is the total time the finished runs took, in seconds;
	// DurationCount how many; Buckets the cumulative counts of runs that
	// took at most each of JobDurationBuckets (same length, same order).
	DurationSum   float64
	DurationCount uint64
	Buckets       []uint64
	// LastSuccess is when a run last completed; zero: never.
	LastSuccess time.Time
	// NextSchedule is a CronJob's next slot; zero: none (suspended, or a
	// Job).
	NextSchedule time.Time
	// Missed counts a CronJob's slots not run.
	Missed uint64
}

// JobDurationBuckets are the upper bounds, in seconds, of
// proclet_job_duration_seconds.
var JobDurationBuckets = []float64{1, 5, 15, 30, 60, 300, 900, 1800, 3600, 7200, 21600, 86400}

// JobStatsReader is the job metrics' source (MetricsSources.Jobs).
type JobStatsReader interface {
	// JobStats calls fn with the stats of every Job and CronJob, sorted by
	// name. fn is quick and does not call the reader.
	JobStats(fn func(JobStats))
}

// ProbeStats are the probe runs of one probe of one app so far.
type ProbeStats struct {
	App   string
	Probe string // "startup", "readiness" or "liveness"
	// Success and Failure count the probe runs by result.
	Success, Failure uint64
	// DurationSum is the total time the runs took, in seconds; Buckets are
	// the cumulative counts of runs that took at most each of
	// ProbeDurationBuckets (same length, same order).
	DurationSum float64
	Buckets     []uint64
}

// ProbeStatsReader is the probe metrics' source (MetricsSources.Probes).
type ProbeStatsReader interface {
	// ProbeStats returns the stats of every configured probe of every app.
	ProbeStats() []ProbeStats
}

// ExitCountsReader is proclet_instance_exits_total's source
// (MetricsSources.Exits).
type ExitCountsReader interface {
	// ExitCounts calls fn with the exits of every app by exit reason, best
	// sorted by app and reason (else the collector sorts them at each
	// scrape). fn is quick and does not call the reader.
	ExitCounts(fn func(app, reason string, exits uint64))
}

// ProbeDurationBuckets are the upper bounds, in seconds, of
// proclet_probe_duration_seconds.
var ProbeDurationBuckets = []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}

// Collector exports the state of apps and instances at scrape time (the
// node_exporter pattern): nothing is stored between scrapes but what keeps
// counters from going back, so an app or instance that goes away takes its
// series with it without any Delete call. A scrape costs one read each of
// the apps, the instances, the exit counts and the probe stats, and no I/O:
// CPU and memory were sampled by the runtime beforehand. Nothing is cached:
// every scrape shows the state as it is.
//
// Series of an instance are labelled app and replica (the instance's name).
// During a rollout an old and a new process may share a name: their series
// are merged (up and ready if either is, CPU and memory summed, the latest
// start time, the larger restart count).
//
// The collector builds its metric families directly, from slabs rather
// than several allocations per series, and is a prometheus.Gatherer of
// them as well as a prometheus.Collector: NewMetricsHandler(reg, c) serves
// them beside reg's without the registry's per-series checks and sorting
// (which cost more than the rest of a scrape at a thousand instances), and
// reuses the slabs of a scrape for the next once it is written. For a
// scrape in the text format it writes the families' lines straight from
// the state instead, without dto structs (metrics_textfams.go), from the
// same build. Registered on a registry instead, it yields the very same
// series, only slower.
type Collector struct {
	src MetricsSources

	// fams are the families the collector exports, by name (the order
	// of the exposition); the Desc of each is for Describe and Collect.
	fams []famSpec
	// Label names and bucket bounds the families point to. Never mutated.
	lApp, lReplica, lRevision, lProbe, lResult, lReason string
	vSuccess, vFailure                                  string
	bounds                                              []float64
	lJob, lCronJob, vSucceeded, vFailed                 string
	jobBounds                                           []float64

	// allocs are the slabs of scrapes that are done, for the next ones.
	allocs allocPool

	// mu guards cpuSeen and cpuSpare. A reconcile pass can publish an
	// instance with a sample older than the one a usage refresh published
	// just before; the counter must not go back for the same processes.
	// cpuSeen is the last scrape's counters in the exposition's order
	// (read alongside the replicas, without a map: a map of 5000 took 8 %
	// of a scrape); cpuSpare is the one before, reused.
	mu                sync.Mutex
	cpuSeen, cpuSpare []cpuSeen
	seed              maphash.Seed
}

// famSpec is one metric family: its name, help and type, and the Desc
// that says the same to a registry.
type famSpec struct {
	name, help string
	typ        dto.MetricType
	desc       *prometheus.Desc
	header     string // HELP and TYPE in the text format (textHeader)
}

// The families, in the order of fams: by name, as the exposition sorts
// them.
const (
	famAvailable = iota
	famDesired
	famReady
	famUpdated
	famCronMissed
	famCronNext
	famCPU
	famExits
	famMem
	famInstReady
	famRestarts
	famStart
	famUp
	famJobDuration
	famJobLastSuccess
	famJobRuns
	famPorts
	famProbeDuration
	famProbeResults
	famCount
)

// replicaKey is one instance's series: a rollout's old and new process of
// one name are two (their revisions differ).
type replicaKey struct{ app, replica, revision string }

// cmpReplicaKeys orders keys as byAppAndName orders instances.
func cmpReplicaKeys(a, b *replicaKey) int {
	if c := strings.Compare(a.app, b.app); c != 0 {
		return c
	}
	if c := strings.Compare(a.replica, b.replica); c != 0 {
		return c
	}
	return strings.Compare(a.revision, b.revision)
}

// cpuSeen is the CPU counter last exported for a replica, and which
// processes it was of (a new process may start a new count).
type cpuSeen struct {
	key   replicaKey
	procs uint64
	value float64
}

var (
	_ prometheus.Collector = (*Collector)(nil)
	_ prometheus.Gatherer  = (*Collector)(nil)
)

// NewCollector returns a collector over src. It panics when a source is
// nil: that is a wiring mistake, found when the daemon starts.
func NewCollector(src MetricsSources) *Collector {
	switch {
	case src.State == nil:
		panic("server.NewCollector: MetricsSources.State is nil")
	case src.Exits == nil:
		panic("server.NewCollector: MetricsSources.Exits is nil")
	case src.Probes == nil:
		panic("server.NewCollector: MetricsSources.Probes is nil")
	}
	app, inst := []string{"app"}, []string{"app", "replica", "revision"}
	c := &Collector{
		src: src, lApp: "app", lReplica: "replica", lRevision: "revision", lProbe: "probe", lResult: "result", lReason: "reason",
		vSuccess: "success", vFailure: "failure",
		bounds: append([]float64(nil), ProbeDurationBuckets...),
		lJob:   "job_name", lCronJob: "cronjob", vSucceeded: "succeeded", vFailed: "failed",
		jobBounds: append([]float64(nil), JobDurationBuckets...),
		seed:      maphash.MakeSeed(),
	}
	gauge, counter := dto.MetricType_GAUGE, dto.MetricType_COUNTER
	c.fams = make([]famSpec, famCount)
	for i, f := range []struct {
		name, help string
		typ        dto.MetricType
		labels     []string
	}{
		famAvailable: {"proclet_app_replicas_available",
			"Instances of the app that are available: ready for minReadySeconds.", gauge, app},
		famDesired: {"proclet_app_replicas_desired",
			"Instances the app should run on this host (0 when its node selector does not match).", gauge, app},
		famReady:   {"proclet_app_replicas_ready", "Instances of the app that are ready.", gauge, app},
		famUpdated: {"proclet_app_replicas_updated", "Instances of the app running its current revision.", gauge, app},
		famCronMissed: {"proclet_cronjob_missed_schedules_total",
			"Schedule slots of the CronJob not run (past startingDeadlineSeconds, or skipped under Forbid) since the daemon started.",
			counter, []string{"cronjob"}},
		famCronNext: {"proclet_cronjob_next_schedule_timestamp_seconds",
			"The CronJob's next schedule slot, in Unix seconds (absent while suspended or when there is none).",
			gauge, []string{"cronjob"}},
		famCPU: {"proclet_instance_cpu_seconds_total",
			"User and system CPU time of the instance's process tree, sampled every --sample-interval.", counter, inst},
		famExits: {"proclet_instance_exits_total",
			"Exits of instances the reconciler absorbed, by app and exit reason (Completed, Error, Stopped, ...).",
			counter, []string{"app", "reason"}},
		famMem: {"proclet_instance_memory_rss_bytes",
			"Resident memory of the instance's process tree, sampled every --sample-interval.", gauge, inst},
		famInstReady: {"proclet_instance_ready", "1 when the instance is ready, else 0.", gauge, inst},
		famRestarts: {"proclet_instance_restarts_total",
			"Restarts of the instance at its revision (a new revision starts again at 0).", counter, inst},
		famStart: {"proclet_instance_start_time_seconds", "When the instance's process started, in Unix seconds.", gauge, inst},
		famUp: {"proclet_instance_up",
			"1 while the instance's process runs (also while it stops), 0 when it does not.", gauge, inst},
		famJobDuration: {"proclet_job_duration_seconds",
			"How long the finished runs of a Job (or of a CronJob) took, from start to completion or failure.",
			dto.MetricType_HISTOGRAM, []string{"job_name"}},
		famJobLastSuccess: {"proclet_job_last_success_timestamp_seconds",
			"When a run of the Job (or of the CronJob) last completed, in Unix seconds (absent before the first).",
			gauge, []string{"job_name"}},
		famJobRuns: {"proclet_job_runs_total",
			"Finished runs of a Job (or of a CronJob) since the daemon started, by result (succeeded, failed).",
			counter, []string{"job_name", "result"}},
		famPorts: {"proclet_ports_allocated", "Ports held by the app's running instances.", gauge, app},
		famProbeDuration: {"proclet_probe_duration_seconds", "How long probe runs took, by app and probe.",
			dto.MetricType_HISTOGRAM, []string{"app", "probe"}},
		famProbeResults: {"proclet_probe_results_total",
			"Probe runs by app, probe (startup, readiness, liveness) and result (success, failure).",
			counter, []string{"app", "probe", "result"}},
	} {
		c.fams[i] = famSpec{name: f.name, help: f.help, typ: f.typ, desc: prometheus.NewDesc(f.name, f.help, f.labels, nil),
			header: textHeader(f.name, f.help, f.typ)}
	}
	return c
}

// Describe implements prometheus.Collector.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, f := range c.fams {
		ch <- f.desc
	}
}

// Collect implements prometheus.Collector: the series of Gather, one by
// one, for a registry.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	al := &metricAlloc{}
	c.build(al, false)
	for i, mf := range al.out {
		for _, m := range mf.Metric {
			ch <- builtMetric{desc: c.fams[i].desc, m: m}
		}
	}
}

// Gather implements prometheus.Gatherer: the collector's families, sorted
// by name, each metric sorted by label values, empty families left out
// (what a registry would make of Collect).
func (c *Collector) Gather() ([]*dto.MetricFamily, error) {
	al := &metricAlloc{}
	c.build(al, false)
	return nonEmpty(al.out), nil
}

// gatherTransactional is Gather with slabs recycled: the families are
// valid until done is called.
func (c *Collector) gatherTransactional() (fams []*dto.MetricFamily, done func()) {
	al := c.allocs.get()
	c.build(al, false)
	return nonEmpty(al.out), func() { c.allocs.put(al) }
}

// nonEmpty removes the empty families, in place.
func nonEmpty(fams []*dto.MetricFamily) []*dto.MetricFamily {
	return slices.DeleteFunc(fams, func(mf *dto.MetricFamily) bool { return len(mf.Metric) == 0 })
}

// builtMetric is a metric of a built family, handed to a registry.
type builtMetric struct {
	desc *prometheus.Desc
	m    *dto.Metric
}

func (b builtMetric) Desc() *prometheus.Desc { return b.desc }

func (b builtMetric) Write(out *dto.Metric) error {
	out.Label, out.Gauge, out.Counter, out.Histogram = b.m.Label, b.m.Gauge, b.m.Counter, b.m.Histogram
	return nil
}

// probeStats returns the probe stats by app and probe.
func (c *Collector) probeStats() map[[2]string]ProbeStats {
	all := c.src.Probes.ProbeStats()
	stats := make(map[[2]string]ProbeStats, len(all))
	for _, s := range all {
		stats[[2]string{s.App, s.Probe}] = s
	}
	return stats
}

// replica is the merged state of the instances that share a name.
type replica struct {
	up, ready bool
	restarts  int32
	cpu       float64
	mem       uint64
	started   int64 // Unix nanoseconds: the latest start of a running process
	procs     uint64
}

// procID identifies a process: a pid may be reused.
type procID struct {
	pid     int
	started int64
}

// mergeReplica merges instances that share a name; procs identifies the
// set of their running processes.
func (c *Collector) mergeReplica(insts []*v1alpha1.Instance) replica {
	var r replica
	for _, i := range insts {
		r.ready = r.ready || i.Ready
		r.restarts = max(r.restarts, i.Restarts)
		if !running(i) {
			continue
		}
		r.up = true
		r.cpu += i.CPUSeconds
		r.mem += i.MemoryBytes
		var at int64
		if i.StartedAt != nil {
			at = i.StartedAt.UnixNano()
		}
		r.started = max(r.started, at)
		r.procs += maphash.Comparable(c.seed, procID{pid: i.PID, started: at})
	}
	return r
}

// configuredProbes are the probes app's spec sets, by their label value,
// sorted.
func configuredProbes(s *v1alpha1.AppSpec) []string {
	var out []string
	if s.LivenessProbe != nil {
		out = append(out, "liveness")
	}
	if s.ReadinessProbe != nil {
		out = append(out, "readiness")
	}
	if s.StartupProbe != nil {
		out = append(out, "startup")
	}
	return out
}

// desiredReplicas is the app's replicas, 0 when the status says its node
// selector does not match this host.
func desiredReplicas(a *v1alpha1.App) int32 {
	if a.Status != nil {
		for _, c := range a.Status.Conditions {
			if c.Type == v1alpha1.ConditionAvailable && c.Reason == "NodeSelectorMismatch" {
				return 0
			}
		}
	}
	if a.Spec.Replicas == nil {
		return 1
	}
	return *a.Spec.Replicas
}

// running reports whether the instance has a live process.
func running(i *v1alpha1.Instance) bool {
	return i.PID > 0 && (i.Phase == v1alpha1.PhaseRunning || i.Phase == v1alpha1.PhaseTerminating)
}

func boolFloat(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
