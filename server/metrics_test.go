package server

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"proclet.dev/proclet/apis/v1alpha1"
)

// metricsFake is every source of the metrics (MetricsSources) over fixed
// apps, instances, exit counts and probe stats.
type metricsFake struct {
	mu    sync.Mutex
	apps  []v1alpha1.App
	insts []v1alpha1.Instance
	probe []ProbeStats // nil: no probe ran
	exits map[[2]string]uint64
	jobs  []JobStats // metrics_jobs_test.go
}

// sources are the collector's sources, all of them f.
func (f *metricsFake) sources() MetricsSources {
	return MetricsSources{State: f, Exits: f, Probes: f, Jobs: f}
}

func (f *metricsFake) ProbeStats() []ProbeStats {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.probe)
}

func (f *metricsFake) ExitCounts(fn func(app, reason string, n uint64)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for k, n := range f.exits {
		fn(k[0], k[1], n)
	}
}

// SharedApps are pointers into the fake's apps, as the reconciler's are
// into its published views (set replaces them rather than mutating).
func (f *metricsFake) SharedApps() []*v1alpha1.App {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]*v1alpha1.App, len(f.apps))
	for i := range f.apps {
		out[i] = &f.apps[i]
	}
	return out
}

func (f *metricsFake) SharedInstances(app string) ([]v1alpha1.Instance, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]v1alpha1.Instance, 0, len(f.insts)) // as the reconciler's
	for _, i := range f.insts {
		if app == "" || i.App == app {
			out = append(out, i)
		}
	}
	return out, true
}

func (f *metricsFake) set(apps []v1alpha1.App, insts []v1alpha1.Instance) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.apps, f.insts = apps, insts
	f.exits = map[[2]string]uint64{}
	for _, a := range apps {
		f.exits[[2]string{a.Metadata.Name, "Completed"}] = 0
		f.exits[[2]string{a.Metadata.Name, "Error"}] = 0
	}
	if len(insts) > 0 {
		f.exits[[2]string{insts[0].App, "Error"}] = uint64(insts[0].Restarts)
	}
}

var started = time.Unix(1_700_000_000, 500_000_000)

func metricsApp(name string, replicas, ready, updated int32, probes bool) v1alpha1.App {
	a := v1alpha1.App{Metadata: v1alpha1.ObjectMeta{Name: name}, Spec: v1alpha1.AppSpec{Replicas: &replicas},
		Status: &v1alpha1.AppStatus{ReadyReplicas: ready, UpdatedReplicas: updated}}
	if probes {
		a.Spec.ReadinessProbe = &v1alpha1.Probe{}
	}
	return a
}

func runningInstance(app string, ordinal int, pid int, cpu float64, mem uint64) v1alpha1.Instance {
	at := started
	return v1alpha1.Instance{Name: fmt.Sprintf("%s-%d", app, ordinal), App: app, UID: fmt.Sprintf("%s-uid-%d", app, ordinal),
		Phase: v1alpha1.PhaseRunning, Ready: true, PID: pid, Ports: map[string]int32{"http": int32(8000 + ordinal)},
		StartedAt: &at, CPUSeconds: cpu, MemoryBytes: mem, Restarts: 2, Revision: "r2"}
}

// fixture: web runs two instances, one of them mid-rollout with an old
// process terminating under the same name (a series of its own: its
// revision differs); db has one crash-looping instance and a readiness
// probe. One of web's two ready instances is available (the other is
// ready for less than minReadySeconds).
func fixture() ([]v1alpha1.App, []v1alpha1.Instance) {
	old := runningInstance("web", 1, 200, 1, 100)
	old.Phase, old.Ready, old.UID, old.Revision = v1alpha1.PhaseTerminating, false, "old", "r1"
	pending := v1alpha1.Instance{Name: "db-0", App: "db", Phase: v1alpha1.PhasePending, Reason: "CrashLoopBackOff", Restarts: 7,
		Revision: "d1"}
	web := metricsApp("web", 2, 2, 2, false)
	web.Status.AvailableReplicas = 1
	return []v1alpha1.App{metricsApp("db", 1, 0, 1, true), web},
		[]v1alpha1.Instance{pending, runningInstance("web", 0, 100, 2.5, 4096), old, runningInstance("web", 1, 300, 0.5, 1024)}
}

const fixtureWant = `
# HELP proclet_app_replicas_available Instances of the app that are available: ready for minReadySeconds.
# TYPE proclet_app_replicas_available gauge
proclet_app_replicas_available{app="db"} 0
proclet_app_replicas_available{app="web"} 1
# HELP proclet_app_replicas_desired Instances the app should run on this host (0 when its node selector does not match).
# TYPE proclet_app_replicas_desired gauge
proclet_app_replicas_desired{app="db"} 1
proclet_app_replicas_desired{app="web"} 2
# HELP proclet_app_replicas_ready Instances of the app that are ready.
# TYPE proclet_app_replicas_ready gauge
proclet_app_replicas_ready{app="db"} 0
proclet_app_replicas_ready{app="web"} 2
# HELP proclet_app_replicas_updated Instances of the app running its current revision.
# TYPE proclet_app_replicas_updated gauge
proclet_app_replicas_updated{app="db"} 1
proclet_app_replicas_updated{app="web"} 2
# HELP proclet_instance_cpu_seconds_total User and system CPU time of the instance's process tree, sampled every --sample-interval.
# TYPE proclet_instance_cpu_seconds_total counter
proclet_instance_cpu_seconds_total{app="web",replica="web-0",revision="r2"} 2.5
proclet_instance_cpu_seconds_total{app="web",replica="web-1",revision="r1"} 1
proclet_instance_cpu_seconds_total{app="web",replica="web-1",revision="r2"} 0.5
# HELP proclet_instance_exits_total Exits of instances the reconciler absorbed, by app and exit reason (Completed, Error, Stopped, ...).
# TYPE proclet_instance_exits_total counter
proclet_instance_exits_total{app="db",reason="Completed"} 0
proclet_instance_exits_total{app="db",reason="Error"} 7
proclet_instance_exits_total{app="web",reason="Completed"} 0
proclet_instance_exits_total{app="web",reason="Error"} 0
# HELP proclet_instance_memory_rss_bytes Resident memory of the instance's process tree, sampled every --sample-interval.
# TYPE proclet_instance_memory_rss_bytes gauge
proclet_instance_memory_rss_bytes{app="web",replica="web-0",revision="r2"} 4096
proclet_instance_memory_rss_bytes{app="web",replica="web-1",revision="r1"} 100
proclet_instance_memory_rss_bytes{app="web",replica="web-1",revision="r2"} 1024
# HELP proclet_instance_ready 1 when the instance is ready, else 0.
# TYPE proclet_instance_ready gauge
proclet_instance_ready{app="db",replica="db-0",revision="d1"} 0
proclet_instance_ready{app="web",replica="web-0",revision="r2"} 1
proclet_instance_ready{app="web",replica="web-1",revision="r1"} 0
proclet_instance_ready{app="web",replica="web-1",revision="r2"} 1
# HELP proclet_instance_restarts_total Restarts of the instance at its revision (a new revision starts again at 0).
# TYPE proclet_instance_restarts_total counter
proclet_instance_restarts_total{app="db",replica="db-0",revision="d1"} 7
proclet_instance_restarts_total{app="web",replica="web-0",revision="r2"} 2
proclet_instance_restarts_total{app="web",replica="web-1",revision="r1"} 2
proclet_instance_restarts_total{app="web",replica="web-1",revision="r2"} 2
# HELP proclet_instance_start_time_seconds When the instance's process started, in Unix seconds.
# TYPE proclet_instance_start_time_seconds gauge
proclet_instance_start_time_seconds{app="web",replica="web-0",revision="r2"} 1.7000000005e+09
proclet_instance_start_time_seconds{app="web",replica="web-1",revision="r1"} 1.7000000005e+09
proclet_instance_start_time_seconds{app="web",replica="web-1",revision="r2"} 1.7000000005e+09
# HELP proclet_instance_up 1 while the instance's process runs (also while it stops), 0 when it does not.
# TYPE proclet_instance_up gauge
proclet_instance_up{app="db",replica="db-0",revision="d1"} 0
proclet_instance_up{app="web",replica="web-0",revision="r2"} 1
proclet_instance_up{app="web",replica="web-1",revision="r1"} 1
proclet_instance_up{app="web",replica="web-1",revision="r2"} 1
# HELP proclet_ports_allocated Ports held by the app's running instances.
# TYPE proclet_ports_allocated gauge
proclet_ports_allocated{app="db"} 0
proclet_ports_allocated{app="web"} 3
# HELP proclet_probe_duration_seconds How long probe runs took, by app and probe.
# TYPE proclet_probe_duration_seconds histogram
proclet_probe_duration_seconds_bucket{app="db",probe="readiness",le="0.005"} 0
proclet_probe_duration_seconds_bucket{app="db",probe="readiness",le="0.01"} 0
proclet_probe_duration_seconds_bucket{app="db",probe="readiness",le="0.025"} 0
proclet_probe_duration_seconds_bucket{app="db",probe="readiness",le="0.05"} 0
proclet_probe_duration_seconds_bucket{app="db",probe="readiness",le="0.1"} 0
proclet_probe_duration_seconds_bucket{app="db",probe="readiness",le="0.25"} 0
proclet_probe_duration_seconds_bucket{app="db",probe="readiness",le="0.5"} 0
proclet_probe_duration_seconds_bucket{app="db",probe="readiness",le="1"} 0
proclet_probe_duration_seconds_bucket{app="db",probe="readiness",le="2.5"} 0
proclet_probe_duration_seconds_bucket{app="db",probe="readiness",le="5"} 0
proclet_probe_duration_seconds_bucket{app="db",probe="readiness",le="10"} 0
proclet_probe_duration_seconds_bucket{app="db",probe="readiness",le="+Inf"} 0
proclet_probe_duration_seconds_sum{app="db",probe="readiness"} 0
proclet_probe_duration_seconds_count{app="db",probe="readiness"} 0
# HELP proclet_probe_results_total Probe runs by app, probe (startup, readiness, liveness) and result (success, failure).
# TYPE proclet_probe_results_total counter
proclet_probe_results_total{app="db",probe="readiness",result="failure"} 0
proclet_probe_results_total{app="db",probe="readiness",result="success"} 0
`

func newMetricsRegistry(t testing.TB, f *metricsFake) *prometheus.Registry {
	t.Helper()
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		NewCollector(f.sources()))
	return reg
}

func TestCollector_Exposition(t *testing.T) {
	f := &metricsFake{}
	f.set(fixture())
	c := NewCollector(f.sources())
	if err := testutil.CollectAndCompare(c, strings.NewReader(fixtureWant)); err != nil {
		t.Fatal(err)
	}
	problems, err := testutil.CollectAndLint(c)
	if err != nil || len(problems) > 0 {
		t.Fatalf("lint: %v %+v", err, problems)
	}
	reg := newMetricsRegistry(t, f)
	if problems, err := testutil.GatherAndLint(reg); err != nil || len(problems) > 0 {
		t.Fatalf("lint with the Go and process collectors: %v %+v", err, problems)
	}
}

// TestCollector_EveryNameFromTheFirstScrape checks that every metric the
// collector owns is in the very first scrape, and that no series carries a
// label Prometheus owns or one that explodes cardinality.
func TestCollector_EveryNameFromTheFirstScrape(t *testing.T) {
	f := &metricsFake{jobs: fixtureJobs()}
	f.set(fixture())
	reg := newMetricsRegistry(t, f)
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for _, mf := range mfs {
		got[mf.GetName()] = true
		for _, m := range mf.Metric {
			for _, l := range m.Label {
				if n := l.GetName(); n == "instance" || n == "job" || n == "pid" {
					t.Errorf("%s has a %q label", mf.GetName(), n)
				}
			}
		}
	}
	names := collectorNames(NewCollector(f.sources()))
	if len(names) != 19 {
		t.Fatalf("the collector describes %d metrics, want 19: %v", len(names), names)
	}
	for _, name := range names {
		if !got[name] {
			t.Errorf("%s missing from the first scrape", name)
		}
	}
}

func TestCollector_RemovedSeriesDisappear(t *testing.T) {
	f := &metricsFake{}
	f.set(fixture())
	reg := newMetricsRegistry(t, f)
	if n, _ := testutil.GatherAndCount(reg, "proclet_instance_up"); n != 4 {
		t.Fatalf("instance_up series %d, want 4", n)
	}
	apps, insts := fixture()
	f.set(apps[1:], insts[1:2]) // db removed, web scaled down to web-0
	want := `
# HELP proclet_instance_up 1 while the instance's process runs (also while it stops), 0 when it does not.
# TYPE proclet_instance_up gauge
proclet_instance_up{app="web",replica="web-0",revision="r2"} 1
# HELP proclet_app_replicas_ready Instances of the app that are ready.
# TYPE proclet_app_replicas_ready gauge
proclet_app_replicas_ready{app="web"} 2
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "proclet_instance_up", "proclet_app_replicas_ready"); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"proclet_probe_results_total", "proclet_probe_duration_seconds"} {
		if n, _ := testutil.GatherAndCount(reg, name); n != 0 {
			t.Fatalf("%s: %d series of removed db", name, n)
		}
	}
}

func TestCollector_CPUNeverGoesBackForTheSameProcess(t *testing.T) {
	f := &metricsFake{}
	apps, insts := fixture()
	f.set(apps, insts)
	reg := prometheus.NewRegistry()
	reg.MustRegister(NewCollector(f.sources()))
	cpu := func() float64 { return seriesValue(t, reg, "proclet_instance_cpu_seconds_total", "web-0") }
	if v := cpu(); v != 2.5 {
		t.Fatalf("cpu %v", v)
	}
	insts[1].CPUSeconds = 2.0 // an older sample published late
	f.set(apps, insts)
	if v := cpu(); v != 2.5 {
		t.Fatalf("cpu went back to %v for the same process", v)
	}
	insts[1].PID, insts[1].CPUSeconds = 101, 0.1 // restarted: a new count
	f.set(apps, insts)
	if v := cpu(); v != 0.1 {
		t.Fatalf("cpu of a new process %v, want 0.1", v)
	}
}

// The counter held back for one replica stays held while replicas before
// and after it in the exposition's order come and go.
func TestCollector_CPUHeldWhileOthersComeAndGo(t *testing.T) {
	f := &metricsFake{}
	apps, insts := fixture()
	f.set(apps, insts)
	reg := prometheus.NewRegistry()
	reg.MustRegister(NewCollector(f.sources()))
	cpu := func() float64 { return seriesValue(t, reg, "proclet_instance_cpu_seconds_total", "web-0") }
	if v := cpu(); v != 2.5 {
		t.Fatalf("cpu %v", v)
	}
	web0 := slices.IndexFunc(insts, func(i v1alpha1.Instance) bool { return i.Name == "web-0" && running(&i) })
	older := insts[web0]
	older.CPUSeconds = 2.0                        // an older sample published late
	surge := runningInstance("web", 0, 303, 1, 1) // web-0 at the next revision, sorted after it
	surge.Revision = "r3"
	for _, around := range [][]v1alpha1.Instance{
		{runningInstance("aaa", 0, 300, 1, 1), older, runningInstance("web", 5, 301, 9, 1), runningInstance("zzz", 0, 302, 1, 1)},
		{older},
		{surge, runningInstance("aaa", 0, 300, 1, 1), older},
		{runningInstance("aab", 0, 304, 1, 1), runningInstance("web", 1, 305, 5, 1), older, runningInstance("zzz", 1, 306, 1, 1)},
	} {
		f.set(apps, around)
		if v := cpu(); v != 2.5 {
			t.Fatalf("cpu went back to %v for the same process beside %d others", v, len(around)-1)
		}
	}
}

// seriesValue is the value of name's counter or gauge for replica.
func seriesValue(t *testing.T, reg prometheus.Gatherer, name, replica string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.Metric {
			for _, l := range m.Label {
				if l.GetName() == "replica" && l.GetValue() == replica {
					if m.Counter != nil {
						return m.Counter.GetValue()
					}
					return m.Gauge.GetValue()
				}
			}
		}
	}
	t.Fatalf("no %s for %s", name, replica)
	return 0
}

// collectorNames are the metric names c describes.
func collectorNames(c prometheus.Collector) []string {
	ch := make(chan *prometheus.Desc, 64)
	c.Describe(ch)
	close(ch)
	var out []string
	for d := range ch {
		s := d.String() // Desc{fqName: "proclet_...", help: ...}
		i := strings.Index(s, `fqName: "`) + len(`fqName: "`)
		out = append(out, s[i:i+strings.IndexByte(s[i:], '"')])
	}
	return out
}

func TestCollector_ProbeStats(t *testing.T) {
	f := &metricsFake{probe: []ProbeStats{{App: "db", Probe: "readiness", Success: 3, Failure: 1, DurationSum: 0.04,
		Buckets: []uint64{1, 2, 3, 4, 4, 4, 4, 4, 4, 4, 4}}}}
	f.set(fixture())
	reg := newMetricsRegistry(t, f)
	want := `
# HELP proclet_probe_results_total Probe runs by app, probe (startup, readiness, liveness) and result (success, failure).
# TYPE proclet_probe_results_total counter
proclet_probe_results_total{app="db",probe="readiness",result="failure"} 1
proclet_probe_results_total{app="db",probe="readiness",result="success"} 3
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "proclet_probe_results_total"); err != nil {
		t.Fatal(err)
	}
}

func TestMetricsHandler_OpenMetrics(t *testing.T) {
	f := &metricsFake{}
	f.set(fixture())
	h := NewMetricsHandler(newMetricsRegistry(t, f))
	for _, tc := range []struct{ accept, contentType, tail string }{
		{"", "text/plain; version=0.0.4", ""},
		{"application/openmetrics-text; version=1.0.0", "application/openmetrics-text; version=1.0.0", "# EOF\n"},
	} {
		req := httptest.NewRequest(http.MethodGet, "/metrics", nil)
		if tc.accept != "" {
			req.Header.Set("Accept", tc.accept)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		body, _ := io.ReadAll(rec.Body)
		if rec.Code != 200 || !strings.HasPrefix(rec.Header().Get("Content-Type"), tc.contentType) ||
			!strings.HasSuffix(string(body), tc.tail) || !strings.Contains(string(body), `proclet_instance_up{app="web",replica="web-0",revision="r2"} 1`) {
			t.Fatalf("accept %q: %d %q\n%s", tc.accept, rec.Code, rec.Header().Get("Content-Type"), body)
		}
	}
}

// During a surge the old and the new process of one name are two series,
// told apart by their revision: not one series summing both.
func TestCollector_SurgeSeriesPerRevision(t *testing.T) {
	old := runningInstance("web", 0, 100, 4, 1000)
	old.Phase, old.Ready, old.UID, old.Revision = v1alpha1.PhaseTerminating, false, "old", "r1"
	f := &metricsFake{}
	f.set([]v1alpha1.App{metricsApp("web", 1, 1, 1, false)}, []v1alpha1.Instance{old, runningInstance("web", 0, 200, 1, 10)})
	reg := newMetricsRegistry(t, f)
	want := `
# HELP proclet_instance_memory_rss_bytes Resident memory of the instance's process tree, sampled every --sample-interval.
# TYPE proclet_instance_memory_rss_bytes gauge
proclet_instance_memory_rss_bytes{app="web",replica="web-0",revision="r1"} 1000
proclet_instance_memory_rss_bytes{app="web",replica="web-0",revision="r2"} 10
# HELP proclet_instance_ready 1 when the instance is ready, else 0.
# TYPE proclet_instance_ready gauge
proclet_instance_ready{app="web",replica="web-0",revision="r1"} 0
proclet_instance_ready{app="web",replica="web-0",revision="r2"} 1
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "proclet_instance_memory_rss_bytes", "proclet_instance_ready"); err != nil {
		t.Fatal(err)
	}
}
