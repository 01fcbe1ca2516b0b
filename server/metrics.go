package server

import (
	"hash/maphash"
	"net/http"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"proclet.dev/proclet/apis/v1alpha1"
)

// MetricsReader is what the metrics collector reads at each scrape. The
// reconciler satisfies it. Both methods return copies and never block on
// I/O.
type MetricsReader interface {
	// Apps returns every app with its status.
	Apps() []v1alpha1.App
	// Instances returns the instances of app, or of every app when app is
	// empty, sorted by app and ordinal.
	Instances(app string) ([]v1alpha1.Instance, bool)
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

// ProbeStatsReader is optional: when the MetricsReader also implements it,
// the probe metrics carry its counts. Without it they stay at zero.
type ProbeStatsReader interface {
	// ProbeStats returns the stats of every configured probe of every app.
	ProbeStats() []ProbeStats
}

// ProbeDurationBuckets are the upper bounds, in seconds, of
// proclet_probe_duration_seconds.
var ProbeDurationBuckets = []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}

// Collector exports the state of apps and instances at scrape time (the
// node_exporter pattern): nothing is stored between scrapes but what keeps
// counters from going back, so an app or instance that goes away takes its
// series with it without any Delete call. A scrape costs one Apps and one
// Instances call and no I/O: CPU and memory were sampled by the runtime
// beforehand.
//
// Series of an instance are labelled app and replica (the instance's name).
// During a rollout an old and a new process may share a name: their series
// are merged (up and ready if either is, CPU and memory summed, the latest
// start time, the larger restart count).
type Collector struct {
	r      MetricsReader
	probes ProbeStatsReader // set by WithProbes; else r, if it is one

	desired, ready, updated, ports         *prometheus.Desc
	up, instReady, restarts, cpu, mem, age *prometheus.Desc
	probeResults, probeDuration            *prometheus.Desc

	// mu guards cpuSeen. A reconcile pass can publish an instance with a
	// sample older than the one a usage refresh published just before; the
	// counter must not go back for the same processes.
	mu      sync.Mutex
	cpuSeen map[replicaKey]cpuSeen
	seed    maphash.Seed
}

type replicaKey struct{ app, replica string }

// cpuSeen is the CPU counter last exported for a replica, and which
// processes it was of (a new process may start a new count).
type cpuSeen struct {
	procs uint64
	value float64
}

var _ prometheus.Collector = (*Collector)(nil)

// WithProbes makes the collector take its probe counts from p.
func (c *Collector) WithProbes(p ProbeStatsReader) *Collector {
	c.probes = p
	return c
}

// NewCollector returns a collector over r.
func NewCollector(r MetricsReader) *Collector {
	app, inst := []string{"app"}, []string{"app", "replica"}
	return &Collector{
		r: r,
		desired: prometheus.NewDesc("proclet_app_replicas_desired",
			"Instances the app should run on this host (0 when its node selector does not match).", app, nil),
		ready: prometheus.NewDesc("proclet_app_replicas_ready",
			"Instances of the app that are ready.", app, nil),
		updated: prometheus.NewDesc("proclet_app_replicas_updated",
			"Instances of the app running its current revision.", app, nil),
		ports: prometheus.NewDesc("proclet_ports_allocated",
			"Ports held by the app's running instances.", app, nil),
		up: prometheus.NewDesc("proclet_instance_up",
			"1 while the instance's process runs (also while it stops), 0 when it does not.", inst, nil),
		instReady: prometheus.NewDesc("proclet_instance_ready",
			"1 when the instance is ready, else 0.", inst, nil),
		restarts: prometheus.NewDesc("proclet_instance_restarts_total",
			"Restarts of the instance at its revision (a new revision starts again at 0).", inst, nil),
		cpu: prometheus.NewDesc("proclet_instance_cpu_seconds_total",
			"User and system CPU time of the instance's process tree, sampled every --sample-interval.", inst, nil),
		mem: prometheus.NewDesc("proclet_instance_memory_rss_bytes",
			"Resident memory of the instance's process tree, sampled every --sample-interval.", inst, nil),
		age: prometheus.NewDesc("proclet_instance_start_time_seconds",
			"When the instance's process started, in Unix seconds.", inst, nil),
		probeResults: prometheus.NewDesc("proclet_probe_results_total",
			"Probe runs by app, probe (startup, readiness, liveness) and result (success, failure).",
			[]string{"app", "probe", "result"}, nil),
		probeDuration: prometheus.NewDesc("proclet_probe_duration_seconds",
			"How long probe runs took, by app and probe.", []string{"app", "probe"}, nil),
		cpuSeen: map[replicaKey]cpuSeen{},
		seed:    maphash.MakeSeed(),
	}
}

// Describe implements prometheus.Collector.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.desired, c.ready, c.updated, c.ports, c.up, c.instReady, c.restarts,
		c.cpu, c.mem, c.age, c.probeResults, c.probeDuration} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	apps := c.r.Apps()
	insts, _ := c.r.Instances("")
	byApp := map[string][]v1alpha1.Instance{}
	for _, i := range insts {
		byApp[i.App] = append(byApp[i.App], i)
	}
	var stats map[[2]string]ProbeStats
	probes, ok := c.r.(ProbeStatsReader)
	if c.probes != nil {
		probes, ok = c.probes, true
	}
	if p := probes; ok {
		stats = map[[2]string]ProbeStats{}
		for _, s := range p.ProbeStats() {
			stats[[2]string{s.App, s.Probe}] = s
		}
	}
	for i := range apps {
		a := &apps[i]
		name := a.Metadata.Name
		gauge(ch, c.desired, float64(desiredReplicas(a)), name)
		var st v1alpha1.AppStatus
		if a.Status != nil {
			st = *a.Status
		}
		gauge(ch, c.ready, float64(st.ReadyReplicas), name)
		gauge(ch, c.updated, float64(st.UpdatedReplicas), name)
		ports := 0
		for _, inst := range byApp[name] {
			if running(inst) {
				ports += len(inst.Ports)
			}
		}
		gauge(ch, c.ports, float64(ports), name)
		for _, probe := range configuredProbes(&a.Spec) {
			c.collectProbe(ch, name, probe, stats[[2]string{name, probe}])
		}
	}
	for _, m := range c.instanceMetrics(insts) {
		ch <- m
	}
}

// instanceMetrics builds the per-instance series, one set per app and
// replica name. They are built under mu and sent after: no channel send
// with a lock held.
func (c *Collector) instanceMetrics(insts []v1alpha1.Instance) []prometheus.Metric {
	// Group by name, in order (the reader sorts, but a duplicate series
	// would fail the scrape: do not rely on it).
	groups := make(map[replicaKey][]v1alpha1.Instance, len(insts))
	order := make([]replicaKey, 0, len(insts))
	for _, i := range insts {
		k := replicaKey{i.App, i.Name}
		if _, ok := groups[k]; !ok {
			order = append(order, k)
		}
		groups[k] = append(groups[k], i)
	}
	out := make([]prometheus.Metric, 0, 6*len(order))
	add := func(d *prometheus.Desc, t prometheus.ValueType, v float64, k replicaKey) {
		out = append(out, prometheus.MustNewConstMetric(d, t, v, k.app, k.replica))
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	seen := make(map[replicaKey]cpuSeen, len(order))
	for _, k := range order {
		r := mergeReplica(groups[k])
		add(c.up, prometheus.GaugeValue, boolFloat(r.up), k)
		add(c.instReady, prometheus.GaugeValue, boolFloat(r.ready), k)
		add(c.restarts, prometheus.CounterValue, float64(r.restarts), k)
		if !r.up {
			continue
		}
		procs := c.procsHash(r.procs)
		cpu := r.cpu
		if prev, ok := c.cpuSeen[k]; ok && prev.procs == procs && prev.value > cpu {
			cpu = prev.value
		}
		seen[k] = cpuSeen{procs: procs, value: cpu}
		add(c.cpu, prometheus.CounterValue, cpu, k)
		add(c.mem, prometheus.GaugeValue, float64(r.mem), k)
		add(c.age, prometheus.GaugeValue, float64(r.started)/1e9, k)
	}
	c.cpuSeen = seen
	return out
}

// replica is the merged state of the instances that share a name.
type replica struct {
	up, ready bool
	restarts  int32
	cpu       float64
	mem       uint64
	started   int64 // Unix nanoseconds: the latest start of a running process
	procs     []procID
}

// procID identifies a process: a pid may be reused.
type procID struct {
	pid     int
	started int64
}

func mergeReplica(insts []v1alpha1.Instance) replica {
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
		r.procs = append(r.procs, procID{pid: i.PID, started: at})
	}
	return r
}

// procsHash identifies a set of processes.
func (c *Collector) procsHash(procs []procID) uint64 {
	var sum uint64
	for _, p := range procs {
		var h maphash.Hash
		h.SetSeed(c.seed)
		maphash.WriteComparable(&h, p)
		sum += h.Sum64()
	}
	return sum
}

// collectProbe exports one configured probe of app.
func (c *Collector) collectProbe(ch chan<- prometheus.Metric, app, probe string, s ProbeStats) {
	ch <- prometheus.MustNewConstMetric(c.probeResults, prometheus.CounterValue, float64(s.Success), app, probe, "success")
	ch <- prometheus.MustNewConstMetric(c.probeResults, prometheus.CounterValue, float64(s.Failure), app, probe, "failure")
	buckets := make(map[float64]uint64, len(ProbeDurationBuckets))
	for i, le := range ProbeDurationBuckets {
		if i < len(s.Buckets) {
			buckets[le] = s.Buckets[i]
		} else {
			buckets[le] = 0
		}
	}
	ch <- prometheus.MustNewConstHistogram(c.probeDuration, s.Success+s.Failure, s.DurationSum, buckets, app, probe)
}

// configuredProbes are the probes app's spec sets, by their label value.
func configuredProbes(s *v1alpha1.AppSpec) []string {
	var out []string
	if s.StartupProbe != nil {
		out = append(out, "startup")
	}
	if s.ReadinessProbe != nil {
		out = append(out, "readiness")
	}
	if s.LivenessProbe != nil {
		out = append(out, "liveness")
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
func running(i v1alpha1.Instance) bool {
	return i.PID > 0 && (i.Phase == v1alpha1.PhaseRunning || i.Phase == v1alpha1.PhaseTerminating)
}

func gauge(ch chan<- prometheus.Metric, d *prometheus.Desc, v float64, labels ...string) {
	ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
}

func boolFloat(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// NewMetricsHandler serves reg in the Prometheus text format, or
// OpenMetrics when the scraper asks for it. A collector that fails does not
// fail the scrape: the rest is still served.
func NewMetricsHandler(reg *prometheus.Registry) http.Handler {
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{
		EnableOpenMetrics: true,
		ErrorHandling:     promhttp.ContinueOnError,
	})
}
