package server

import (
	"cmp"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"proclet.dev/proclet/apis/v1alpha1"
)

// BenchmarkMetrics1000 renders /metrics for 250 apps of 4 instances each,
// with the Go and process collectors, wired as the daemon does.
func BenchmarkMetrics1000(b *testing.B) {
	f := &metricsFake{}
	var apps []v1alpha1.App
	var insts []v1alpha1.Instance
	for a := range 250 {
		name := fmt.Sprintf("app-%03d", a)
		apps = append(apps, metricsApp(name, 4, 4, 4, a%2 == 0))
		for o := range 4 {
			insts = append(insts, runningInstance(name, o, 1000+4*a+o, float64(a), uint64(o)<<20))
		}
	}
	f.set(apps, insts)
	benchScrape(b, NewMetricsHandler(goProcessRegistry(), NewCollector(f.sources())), "")
}

// BenchmarkMetrics1000Apps renders /metrics for 1000 apps of one instance
// each, with their 2000 exit counters: the steady-state benchmark's
// daemon. Sub-benchmarks: the daemon's wiring in each format, and the
// collector registered on the registry instead.
func BenchmarkMetrics1000Apps(b *testing.B) { benchApps(b, 1000, true) }

// BenchmarkMetrics5000Apps is BenchmarkMetrics1000Apps at 5000 apps, the
// size the bench's target for GET /metrics is set at (the registered
// wiring left out: it is slow and not what the daemon runs).
func BenchmarkMetrics5000Apps(b *testing.B) { benchApps(b, 5000, false) }

func benchApps(b *testing.B, n int, registered bool) {
	f := &metricsFake{}
	var apps []v1alpha1.App
	var insts []v1alpha1.Instance
	for a := range n {
		name := fmt.Sprintf("a%d", a)
		apps = append(apps, metricsApp(name, 1, 1, 1, false))
		insts = append(insts, runningInstance(name, 0, 1000+a, float64(a)/7, uint64(a)<<12))
	}
	f.set(apps, insts)
	src := f.sources()
	src.Exits = sortedExitsOf(f) // as the reconciler's are
	h := NewMetricsHandler(goProcessRegistry(), NewCollector(src))
	b.Run("text", func(b *testing.B) { benchScrape(b, h, "") })
	b.Run("gzip", func(b *testing.B) { benchScrape(b, h, "gzip") })
	b.Run("openmetrics", func(b *testing.B) { benchScrape(b, h, "openmetrics") })
	if !registered {
		return
	}
	b.Run("registered", func(b *testing.B) {
		reg := goProcessRegistry()
		reg.MustRegister(NewCollector(f.sources()))
		benchScrape(b, NewMetricsHandler(reg), "")
	})
}

// sortedExits are f's exit counts, sorted by app and reason as the
// reconciler hands them out (the fake's come in map order, which the
// collector sorts: a cost the daemon does not have).
type sortedExits []exitCount

func sortedExitsOf(f *metricsFake) sortedExits {
	var out sortedExits
	f.ExitCounts(func(app, reason string, n uint64) { out = append(out, exitCount{app, reason, n}) })
	slices.SortFunc(out, func(a, b exitCount) int {
		return cmp.Or(strings.Compare(a.app, b.app), strings.Compare(a.reason, b.reason))
	})
	return out
}

func (s sortedExits) ExitCounts(fn func(app, reason string, n uint64)) {
	for _, e := range s {
		fn(e.app, e.reason, e.n)
	}
}

func goProcessRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return reg
}

// benchScrape scrapes h as Prometheus would: gzip asks for gzip,
// openmetrics for OpenMetrics.
func benchScrape(b *testing.B, h http.Handler, how string) {
	var size int
	cpu := cpuTime()
	for b.Loop() {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest(http.MethodGet, "/metrics", nil)
		switch how {
		case "gzip":
			req.Header.Set("Accept-Encoding", "gzip")
		case "openmetrics":
			req.Header.Set("Accept", "application/openmetrics-text; version=1.0.0")
		}
		h.ServeHTTP(rec, req)
		if rec.Code != 200 {
			b.Fatalf("status %d", rec.Code)
		}
		size = rec.Body.Len()
	}
	b.ReportMetric(float64(size), "bytes/scrape")
	reportCPU(b, cpu)
}

// cpuTime is the process's user and system CPU time so far. Per op, it
// says what an op costs on a loaded machine better than the wall time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// reportCPU reports the CPU time per op since since (GC included).
func reportCPU(b *testing.B, since time.Duration) {
	b.ReportMetric(float64(cpuTime()-since)/float64(b.N)/1e6, "cpu-ms/op")
}
