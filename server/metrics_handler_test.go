package server

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"proclet.dev/proclet/apis/v1alpha1"
)

const openMetrics = "application/openmetrics-text; version=1.0.0"

// scrape GETs /metrics from h, asking for accept ("": the default).
func scrape(t *testing.T, h http.Handler, accept string) string {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, "/metrics", nil)
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	body, _ := io.ReadAll(rec.Body)
	if rec.Code != http.StatusOK {
		t.Fatalf("GET /metrics: %d\n%s", rec.Code, body)
	}
	return string(body)
}

// loopRegistry is a registry with what the reconciler registers beside
// the collector (a gauge between the collector's families by name).
func loopRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	g := prometheus.NewGauge(prometheus.GaugeOpts{Name: "proclet_manifest_errors", Help: "Manifest files failing."})
	g.Set(2)
	reg.MustRegister(g)
	return reg
}

// bothWays serves a reader's metrics the two ways a Collector can be
// wired: given to NewMetricsHandler (the daemon's way) and registered on
// the registry.
type bothWays struct{ direct, registered http.Handler }

func newBothWays(f *metricsFake) bothWays {
	reg := loopRegistry()
	reg.MustRegister(NewCollector(f.sources()))
	return bothWays{direct: NewMetricsHandler(loopRegistry(), NewCollector(f.sources())), registered: NewMetricsHandler(reg)}
}

// scrape scrapes both ways, in text and OpenMetrics, fails unless the two
// ways give the same bytes, and returns the text.
func (b bothWays) scrape(t *testing.T) string {
	t.Helper()
	var text string
	for _, accept := range []string{"", openMetrics} {
		direct, registered := scrape(t, b.direct, accept), scrape(t, b.registered, accept)
		if direct != registered {
			t.Fatalf("accept %q: NewMetricsHandler(reg, c) serves\n%s\nwhere the registry serves\n%s", accept, direct, registered)
		}
		if accept == "" {
			text = direct
		}
	}
	return text
}

// unsortedFixture has what the registry sorts differently from the
// reader: ordinals past 9 (web-10 before web-2 as strings), app names
// whose order changes with a suffix, instances of every phase, a rollout's
// two processes under one name, every probe with stats, a node selector
// that does not match, exits of several reasons.
func unsortedFixture() *metricsFake {
	f := &metricsFake{}
	apps := []v1alpha1.App{metricsApp("a", 1, 1, 1, false), metricsApp("a-b", 1, 0, 1, true), metricsApp("web", 12, 11, 12, false)}
	apps[1].Spec.StartupProbe, apps[1].Spec.LivenessProbe = &v1alpha1.Probe{}, &v1alpha1.Probe{}
	apps[0].Status.Conditions = []v1alpha1.Condition{{Type: v1alpha1.ConditionAvailable, Reason: "NodeSelectorMismatch"}}
	var insts []v1alpha1.Instance
	insts = append(insts, v1alpha1.Instance{Name: "a-b-0", App: "a-b", Phase: v1alpha1.PhaseFailed, Restarts: 3, Revision: "ab1"})
	for o := range 12 {
		insts = append(insts, runningInstance("web", o, 100+o, float64(o)*1.25, uint64(o)<<20))
	}
	old := runningInstance("web", 10, 99, 7, 1<<10)
	old.Phase, old.Ready, old.UID, old.Revision = v1alpha1.PhaseTerminating, false, "old", "r1"
	insts = append(insts, old)
	insts[3].Phase, insts[3].Ready = v1alpha1.PhaseStarting, false // web-2
	f.set(apps, insts)
	f.exits[[2]string{"web", "LivenessProbeFailed"}] = 4
	f.exits[[2]string{"gone", "Error"}] = 1 // counted, its app not yet in the list
	f.probe = []ProbeStats{
		{App: "a-b", Probe: "readiness", Success: 5, Failure: 2, DurationSum: 0.125, Buckets: []uint64{1, 2, 3, 4, 5, 6, 7, 7, 7, 7, 7}},
		{App: "a-b", Probe: "liveness", Success: 1, DurationSum: 3, Buckets: []uint64{0, 0, 0, 0, 0, 0, 0, 0, 0, 1}},
	}
	return f
}

func TestMetricsHandler_SameAsRegistry(t *testing.T) {
	tests := []struct {
		name   string
		reader func() *metricsFake
	}{
		{"fixture", func() *metricsFake { f := &metricsFake{}; f.set(fixture()); return f }},
		{"unsorted", unsortedFixture},
		{"empty", func() *metricsFake { return &metricsFake{} }},
		{"jobs", func() *metricsFake {
			f := unsortedFixture()
			f.jobs = append(fixtureJobs(), JobStats{Job: "we\"ird\\na\nme", Kind: v1alpha1.KindCronJob, Succeeded: 1, DurationSum: 0.5,
				DurationCount: 1, Buckets: make([]uint64, len(JobDurationBuckets)), LastSuccess: started, NextSchedule: started})
			return f
		}},
		{"apps without instances", func() *metricsFake {
			f := &metricsFake{}
			f.set([]v1alpha1.App{metricsApp("x", 0, 0, 0, true)}, nil)
			return f
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := tt.reader()
			text := newBothWays(r).scrape(t)
			if !strings.Contains(text, "proclet_manifest_errors 2\n") {
				t.Errorf("the registry's own metrics are missing:\n%s", text)
			}
			c := NewCollector(r.sources())
			if problems, err := testutil.GatherAndLint(c); err != nil || len(problems) > 0 {
				t.Errorf("lint: %v %+v", err, problems)
			}
		})
	}
}

func TestMetricsHandler_UnsortedFixture(t *testing.T) {
	text := newBothWays(unsortedFixture()).scrape(t)
	for _, want := range []string{
		"proclet_app_replicas_desired{app=\"a\"} 0\n",
		"proclet_instance_up{app=\"web\",replica=\"web-1\",revision=\"r2\"} 1\n" +
			"proclet_instance_up{app=\"web\",replica=\"web-10\",revision=\"r1\"} 1\n" +
			"proclet_instance_up{app=\"web\",replica=\"web-10\",revision=\"r2\"} 1\n" +
			"proclet_instance_up{app=\"web\",replica=\"web-11\",revision=\"r2\"} 1\n" +
			"proclet_instance_up{app=\"web\",replica=\"web-2\",revision=\"r2\"} 0\n",
		// web-10's two processes, a rollout's old and new: a series each.
		"proclet_instance_cpu_seconds_total{app=\"web\",replica=\"web-10\",revision=\"r1\"} 7\n" +
			"proclet_instance_cpu_seconds_total{app=\"web\",replica=\"web-10\",revision=\"r2\"} 12.5\n",
		"proclet_instance_memory_rss_bytes{app=\"web\",replica=\"web-10\",revision=\"r1\"} 1024\n" +
			"proclet_instance_memory_rss_bytes{app=\"web\",replica=\"web-10\",revision=\"r2\"} 1.048576e+07\n",
		"proclet_instance_ready{app=\"web\",replica=\"web-10\",revision=\"r1\"} 0\n" +
			"proclet_instance_ready{app=\"web\",replica=\"web-10\",revision=\"r2\"} 1\n",
		"proclet_instance_exits_total{app=\"gone\",reason=\"Error\"} 1\n",
		"proclet_instance_exits_total{app=\"web\",reason=\"Error\"} 0\nproclet_instance_exits_total{app=\"web\",reason=\"LivenessProbeFailed\"} 4\n",
		"proclet_probe_results_total{app=\"a-b\",probe=\"liveness\",result=\"failure\"} 0\n" +
			"proclet_probe_results_total{app=\"a-b\",probe=\"liveness\",result=\"success\"} 1\n" +
			"proclet_probe_results_total{app=\"a-b\",probe=\"readiness\",result=\"failure\"} 2\n",
		"proclet_probe_duration_seconds_bucket{app=\"a-b\",probe=\"liveness\",le=\"5\"} 1\n",
		"proclet_probe_duration_seconds_count{app=\"a-b\",probe=\"startup\"} 0\n",
		"proclet_instance_up{app=\"a-b\",replica=\"a-b-0\",revision=\"ab1\"} 0\n",
		"proclet_instance_restarts_total{app=\"a-b\",replica=\"a-b-0\",revision=\"ab1\"} 3\n",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("missing\n%s", want)
		}
	}
	if strings.Contains(text, `cpu_seconds_total{app="a-b"`) {
		t.Error("CPU series for an instance without a process")
	}
}

// TestMetricsHandler_NoStaleSeries changes the state between scrapes in
// every way the reconciler and the sampler do: each scrape must show the
// state as it is, never an earlier one.
func TestMetricsHandler_NoStaleSeries(t *testing.T) {
	f := &metricsFake{}
	apps, insts := fixture()
	f.set(apps, insts)
	reg := loopRegistry()
	h := NewMetricsHandler(reg, NewCollector(f.sources()))
	steps := []struct {
		name         string
		change       func()
		want, absent []string
	}{
		{"first scrape", func() {},
			[]string{`proclet_instance_memory_rss_bytes{app="web",replica="web-0",revision="r2"} 4096`}, nil},
		{"usage sample", func() {
			insts[1].CPUSeconds, insts[1].MemoryBytes = 3.75, 8192
			f.set(apps, insts)
		}, []string{`proclet_instance_cpu_seconds_total{app="web",replica="web-0",revision="r2"} 3.75`,
			`proclet_instance_memory_rss_bytes{app="web",replica="web-0",revision="r2"} 8192`}, nil},
		{"instance restarted", func() {
			insts[1].PID, insts[1].CPUSeconds, insts[1].Restarts = 101, 0.5, 3
			f.set(apps, insts)
		}, []string{`proclet_instance_cpu_seconds_total{app="web",replica="web-0",revision="r2"} 0.5`,
			`proclet_instance_restarts_total{app="web",replica="web-0",revision="r2"} 3`}, nil},
		{"instance down", func() {
			insts[1].Phase, insts[1].PID, insts[1].Ready = v1alpha1.PhasePending, 0, false
			f.set(apps, insts)
		}, []string{`proclet_instance_up{app="web",replica="web-0",revision="r2"} 0`, `proclet_instance_ready{app="web",replica="web-0",revision="r2"} 0`},
			[]string{`proclet_instance_cpu_seconds_total{app="web",replica="web-0",revision="r2"}`}},
		{"status change", func() {
			apps[1].Status = &v1alpha1.AppStatus{ReadyReplicas: 1, UpdatedReplicas: 1}
			f.set(apps, insts)
		}, []string{`proclet_app_replicas_ready{app="web"} 1`}, nil},
		{"exit counted", func() {
			f.mu.Lock()
			f.exits[[2]string{"web", "Error"}] = 9
			f.mu.Unlock()
		}, []string{`proclet_instance_exits_total{app="web",reason="Error"} 9`}, nil},
		{"probe run", func() {
			f.mu.Lock()
			f.probe = []ProbeStats{{App: "db", Probe: "readiness", Success: 1, Buckets: make([]uint64, 11)}}
			f.mu.Unlock()
		}, []string{`proclet_probe_results_total{app="db",probe="readiness",result="success"} 1`}, nil},
		{"app removed", func() { f.set(apps[1:], insts[1:]) },
			[]string{`proclet_app_replicas_desired{app="web"} 2`},
			[]string{`app="db"`}},
		{"app added", func() {
			f.set(append(apps[1:], metricsApp("zz", 1, 1, 1, false)), append(insts[1:], runningInstance("zz", 0, 500, 1, 2)))
		}, []string{`proclet_instance_up{app="zz",replica="zz-0",revision="r2"} 1`, `proclet_app_replicas_desired{app="zz"} 1`}, nil},
		{"everything removed", func() { f.set(nil, nil) }, nil, []string{`app="`}},
	}
	for _, step := range steps {
		step.change()
		text := scrape(t, h, "")
		for _, w := range step.want {
			if !strings.Contains(text, w+"\n") {
				t.Errorf("%s: missing %s", step.name, w)
			}
		}
		for _, a := range step.absent {
			if strings.Contains(text, a) {
				t.Errorf("%s: still has %s", step.name, a)
			}
		}
	}
}

func TestMergeFamilies(t *testing.T) {
	fam := func(name string, v float64) *dto.MetricFamily {
		g := dto.MetricType_GAUGE
		return &dto.MetricFamily{Name: &name, Type: &g, Metric: []*dto.Metric{{Gauge: &dto.Gauge{Value: &v}}}}
	}
	a := []*dto.MetricFamily{fam("a", 1), fam("c", 1), fam("e", 1)}
	b := []*dto.MetricFamily{fam("b", 2), fam("c", 2), fam("d", 2), fam("f", 2)}
	var got []string
	for _, mf := range mergeFamilies(a, b) {
		got = append(got, fmt.Sprintf("%s=%g", mf.GetName(), mf.Metric[0].Gauge.GetValue()))
	}
	if want := []string{"a=1", "b=2", "c=1", "d=2", "e=1", "f=2"}; !slices.Equal(got, want) {
		t.Fatalf("merged %v, want %v (the first list wins a name both have)", got, want)
	}
}

// TestMetricsHandler_ConcurrentScrapes scrapes from several goroutines
// while the state changes: each scrape must show one state throughout
// (every instance's memory is the state's generation), whatever the
// others do with their recycled slabs.
func TestMetricsHandler_ConcurrentScrapes(t *testing.T) {
	f := &metricsFake{}
	state := func(gen int) {
		var apps []v1alpha1.App
		var insts []v1alpha1.Instance
		for a := range 20 + gen%7 {
			name := fmt.Sprintf("app-%d", a)
			apps = append(apps, metricsApp(name, 2, 2, 2, a%3 == 0))
			for o := range 2 {
				insts = append(insts, runningInstance(name, o, 100+a, 1, uint64(gen)))
			}
		}
		f.set(apps, insts)
	}
	state(0)
	h := NewMetricsHandler(loopRegistry(), NewCollector(f.sources()))
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := range 25 {
				if w == 0 {
					state(i + 1)
				}
				req := httptest.NewRequest(http.MethodGet, "/metrics", nil)
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, req)
				parser := expfmt.NewTextParser(model.UTF8Validation)
				mfs, err := parser.TextToMetricFamilies(rec.Body)
				if err != nil {
					t.Errorf("scrape %d: %v", i, err)
					return
				}
				mem := mfs["proclet_instance_memory_rss_bytes"]
				seen := map[float64]bool{}
				for _, m := range mem.GetMetric() {
					seen[m.GetGauge().GetValue()] = true
				}
				// (Apps and instances are two reads: they may be of two
				// states, the instances among themselves may not.)
				n := len(mem.GetMetric())
				for _, name := range []string{"proclet_instance_up", "proclet_instance_cpu_seconds_total",
					"proclet_instance_start_time_seconds", "proclet_instance_ready"} {
					if len(mfs[name].GetMetric()) != n {
						seen[-1] = true
					}
				}
				if len(seen) != 1 {
					t.Errorf("scrape %d mixes states: memory values %v, series counts differ %v", i, seen, seen[-1])
				}
			}
		})
	}
	wg.Wait()
}

// A scraper that accepts gzip (Prometheus does) gets the same exposition
// gzipped; one that refuses it (q=0) or does not ask gets it plain.
func TestMetricsHandler_Gzip(t *testing.T) {
	h := NewMetricsHandler(loopRegistry(), NewCollector(unsortedFixture().sources()))
	plain := scrape(t, h, "")
	for _, tt := range []struct {
		acceptEncoding string
		gzipped        bool
	}{
		{"gzip", true},
		{"deflate, gzip;q=1.0, *;q=0.5", true},
		{"br, *", true},
		{"gzip;q=0", false},
		{"gzip; q=0.000", false},
		{"*, gzip;q=0", false},
		{"GZIP;Q=0.5", true},
		{"identity", false},
		{"", false},
	} {
		t.Run(tt.acceptEncoding, func(t *testing.T) {
			req := httptest.NewRequest(http.MethodGet, "/metrics", nil)
			req.Header.Set("Accept-Encoding", tt.acceptEncoding)
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			body := rec.Body.Bytes()
			if got := rec.Header().Get("Content-Encoding") == "gzip"; got != tt.gzipped {
				t.Fatalf("Content-Encoding %q, want gzip: %v", rec.Header().Get("Content-Encoding"), tt.gzipped)
			}
			if tt.gzipped {
				zr, err := gzip.NewReader(bytes.NewReader(body))
				if err != nil {
					t.Fatal(err)
				}
				if body, err = io.ReadAll(zr); err != nil {
					t.Fatal(err)
				}
				if vary := rec.Header().Values("Vary"); !slices.Contains(vary, "Accept-Encoding") {
					t.Errorf("Vary %q, want Accept-Encoding among them", vary)
				}
			}
			if string(body) != plain {
				t.Fatalf("body differs from the plain scrape:\n%s\nwant\n%s", body, plain)
			}
		})
	}
}

// A scrape's slabs are kept for the next scrape, and dropped once no
// scrape came for spareFor: a daemon nobody scrapes holds none.
func TestCollector_DropsItsSlabsWhenNotScraped(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &metricsFake{}
		f.set(fixture())
		c := NewCollector(f.sources())
		h := NewMetricsHandler(loopRegistry(), c)
		scrape(t, h, "")
		if c.allocs.spare.Load() == nil {
			t.Fatal("no slabs kept after a scrape")
		}
		time.Sleep(spareFor - time.Second)
		synctest.Wait()
		scrape(t, h, "") // keeps them another spareFor
		time.Sleep(spareFor - time.Second)
		synctest.Wait()
		if c.allocs.spare.Load() == nil {
			t.Fatal("slabs dropped before spareFor passed without a scrape")
		}
		time.Sleep(2 * time.Second)
		synctest.Wait()
		if c.allocs.spare.Load() != nil {
			t.Fatal("slabs still kept spareFor after the last scrape")
		}
	})
}
