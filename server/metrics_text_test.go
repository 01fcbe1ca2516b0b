package server

import (
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	dto "github.com/prometheus/client_model/go"
)

// textFamilies are families of every shape the text format has, with
// what must be escaped, and names that must be quoted (written by
// expfmt's encoder).
func textFamilies() []*dto.MetricFamily {
	lp := func(kv ...string) []*dto.LabelPair {
		var out []*dto.LabelPair
		for i := 0; i < len(kv); i += 2 {
			out = append(out, &dto.LabelPair{Name: ptr(kv[i]), Value: ptr(kv[i+1])})
		}
		return out
	}
	gauge := func(v float64, labels ...string) *dto.Metric {
		return &dto.Metric{Label: lp(labels...), Gauge: &dto.Gauge{Value: ptr(v)}}
	}
	return []*dto.MetricFamily{
		{Name: ptr("a_counter_total"), Help: ptr(`counts \ things` + "\nover lines"), Type: dto.MetricType_COUNTER.Enum(),
			Metric: []*dto.Metric{
				{Label: lp("app", "web", "instance", "web-0"), Counter: &dto.Counter{Value: ptr(3.0)}},
				{Label: lp("app", `we"b`, "instance", "a\\b\nc"), Counter: &dto.Counter{Value: ptr(1.0)}, TimestampMs: ptr(int64(1700000000123))},
			}},
		{Name: ptr("b_gauge"), Type: dto.MetricType_GAUGE.Enum(), Metric: []*dto.Metric{
			gauge(0), gauge(-1, "x", "1"), gauge(math.NaN(), "x", "2"), gauge(math.Inf(1), "x", "3"), gauge(math.Inf(-1), "x", "4"),
			gauge(math.Copysign(0, -1), "x", "5"), gauge(1e-7, "x", "6"), gauge(123456789.125, "x", "7"), gauge(2.5e21, "x", "8"),
		}},
		{Name: ptr("c_untyped"), Help: ptr("plain"), Type: dto.MetricType_UNTYPED.Enum(),
			Metric: []*dto.Metric{{Untyped: &dto.Untyped{Value: ptr(42.0)}}}},
		{Name: ptr("d_histogram_seconds"), Help: ptr("h"), Type: dto.MetricType_HISTOGRAM.Enum(),
			Metric: []*dto.Metric{{Label: lp("job_name", "m"), Histogram: &dto.Histogram{SampleCount: ptr(uint64(2)), SampleSum: ptr(1.5),
				Bucket: []*dto.Bucket{{UpperBound: ptr(1.0), CumulativeCount: ptr(uint64(1))}}}}}},
		{Name: ptr("e_summary"), Type: dto.MetricType_SUMMARY.Enum(), Metric: []*dto.Metric{{Summary: &dto.Summary{
			SampleCount: ptr(uint64(1)), SampleSum: ptr(2.0), Quantile: []*dto.Quantile{{Quantile: ptr(0.5), Value: ptr(2.0)}}}}}},
		{Name: ptr("f.dotted"), Help: ptr("a UTF-8 name"), Type: dto.MetricType_GAUGE.Enum(), Metric: []*dto.Metric{gauge(1, "app", "web")}},
		{Name: ptr("g_gauge"), Type: dto.MetricType_GAUGE.Enum(), Metric: []*dto.Metric{gauge(7, "label.dotted", "v")}},
		{Name: ptr("h_empty"), Type: dto.MetricType_GAUGE.Enum()},
		{Name: ptr("i_gauge"), Type: dto.MetricType_GAUGE.Enum(), Metric: []*dto.Metric{gauge(8, "__name__", "odd.name")}},
	}
}

// The text format as textHandler writes it is promhttp's, byte for byte,
// headers included, for every Accept a scraper sends, with the name[]
// filter; other formats are promhttp's own.
func TestTextHandler_WritesWhatPromhttpWrites(t *testing.T) {
	reg := prometheus.GathererFunc(func() ([]*dto.MetricFamily, error) { return textFamilies(), nil })
	opts := promhttp.HandlerOpts{EnableOpenMetrics: true, ErrorHandling: promhttp.ContinueOnError, DisableCompression: true}
	want := promhttp.HandlerForTransactional(prometheus.ToTransactionalGatherer(reg), opts)
	got := newTextHandler(reg, nil, want)
	fast := 0
	labelOK := map[string]bool{}
	for _, mf := range textFamilies() {
		if fastText(mf, labelOK) {
			fast++
		}
	}
	if fast != 3 {
		t.Errorf("%d families on the fast path, want 3 (the counter, the first gauge, the untyped)", fast)
	}
	sameScrapes(t, want, got, []scrapeReq{
		{"", ""},
		{"text/plain;version=0.0.4;q=0.5,*/*;q=0.1", ""}, // Prometheus's
		{"text/plain", "?name[]=b_gauge&name[]=f.dotted"},
		{"application/openmetrics-text;version=1.0.0", ""},
		{"application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited", ""},
		{"text/plain;version=1.0.0;escaping=underscores", ""},
	}, nil)
}

// scrapeReq is one scrape's Accept header and query.
type scrapeReq struct{ accept, query string }

// sameScrapes requires got to answer each scrape as want does, twice (the
// second reuses what the first left): the same code, body, Content-Type,
// Vary and Content-Encoding; check, if any, looks further at got's body.
func sameScrapes(t *testing.T, want, got http.Handler, scrapes []scrapeReq, check func(c scrapeReq, body string)) {
	t.Helper()
	for _, c := range scrapes {
		for range 2 {
			req := httptest.NewRequest(http.MethodGet, "/metrics"+c.query, nil)
			if c.accept != "" {
				req.Header.Set("Accept", c.accept)
			}
			a, b := httptest.NewRecorder(), httptest.NewRecorder()
			want.ServeHTTP(a, req)
			got.ServeHTTP(b, req)
			if a.Body.String() != b.Body.String() || a.Code != b.Code {
				t.Errorf("Accept %q%s: body differs\npromhttp:\n%s\ntextHandler:\n%s", c.accept, c.query, a.Body, b.Body)
			}
			for _, h := range []string{"Content-Type", "Vary", "Content-Encoding"} {
				if a.Header().Values(h) == nil != (b.Header().Values(h) == nil) || a.Header().Get(h) != b.Header().Get(h) {
					t.Errorf("Accept %q: %s %q, promhttp's %q", c.accept, h, b.Header().Values(h), a.Header().Values(h))
				}
			}
			if check != nil {
				check(c, b.Body.String())
			}
		}
	}
}

func ptr[T any](v T) *T { return &v }

// The state collectors' families, written straight from the state, are
// what promhttp writes of the same collectors' dto families (merged with
// the registry's as mergedGatherer merges them), byte for byte, for every
// Accept and with the name[] filter; a family the registry has too is the
// registry's.
func TestTextHandler_CollectorsAsPromhttpWrites(t *testing.T) {
	f := unsortedFixture()
	f.jobs = fixtureJobs()
	c := NewCollector(f.sources())
	reg := loopRegistry()
	reg.MustRegister(prometheus.NewGauge(prometheus.GaugeOpts{Name: "proclet_ports_allocated", Help: "The registry's."}))
	opts := promhttp.HandlerOpts{EnableOpenMetrics: true, ErrorHandling: promhttp.ContinueOnError, DisableCompression: true}
	want := promhttp.HandlerForTransactional(mergedGatherer{reg: reg, state: []*Collector{c}}, opts)
	got := newTextHandler(reg, []*Collector{c}, want)
	sameScrapes(t, want, got, []scrapeReq{
		{"", ""},
		{"text/plain;version=0.0.4;q=0.5,*/*;q=0.1", ""},
		{"text/plain", "?name[]=proclet_ports_allocated&name[]=proclet_job_duration_seconds&name[]=proclet_instance_up"},
		{"text/plain;version=1.0.0;escaping=underscores", ""},
		{"text/plain;version=1.0.0;escaping=allow-utf-8", ""},
	}, func(c scrapeReq, body string) {
		if !strings.Contains(body, "# HELP proclet_ports_allocated The registry's.\n") ||
			strings.Contains(body, "proclet_ports_allocated{") {
			t.Errorf("Accept %q%s: proclet_ports_allocated is not the registry's", c.accept, c.query)
		}
	})
}

// A scrape in the text format builds no dto structs: its slabs stay
// empty, and only a scrape in another format fills them.
func TestTextHandler_TextScrapeBuildsNoDto(t *testing.T) {
	f := unsortedFixture()
	f.jobs = fixtureJobs()
	c := NewCollector(f.sources())
	h := NewMetricsHandler(loopRegistry(), c)
	scrape(t, h, "")
	al := c.allocs.spare.Load()
	if al == nil {
		t.Fatal("no slabs kept after a scrape")
	}
	if n := len(al.metrics.all) + len(al.pairs.all) + len(al.out); n != 0 {
		t.Errorf("a text scrape built %d dto metrics, label pairs and families", n)
	}
	scrape(t, h, openMetrics)
	if al := c.allocs.spare.Load(); al == nil || len(al.metrics.all) == 0 {
		t.Error("an OpenMetrics scrape built no dto metrics")
	}
}
