package server_test

import (
	"bufio"
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"proclet.dev/proclet/apis/v1alpha1"
	"proclet.dev/proclet/reconciler"
	"proclet.dev/proclet/runtime/runtimetest"
	"proclet.dev/proclet/server"
)

// documentedMetrics are the metric names of docs/metrics.md's reference
// tables (the first cell of a row).
func documentedMetrics(t *testing.T) []string {
	t.Helper()
	doc, err := os.ReadFile("../docs/metrics.md")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, m := range regexp.MustCompile("(?m)^\\| `(proclet_[a-z_]+)` \\|").FindAllStringSubmatch(string(doc), -1) {
		out = append(out, m[1])
	}
	return out
}

// missing is what of want has is not in.
func missing(want, has []string) []string {
	var out []string
	for _, w := range want {
		if !slices.Contains(has, w) {
			out = append(out, w)
		}
	}
	return out
}

var descName = regexp.MustCompile(`fqName: "([a-z_]+)"`)

// describedBy are the names of the families c describes.
func describedBy(c prometheus.Collector) []string {
	ch := make(chan *prometheus.Desc, 64)
	go func() { c.Describe(ch); close(ch) }()
	var out []string
	for d := range ch {
		if m := descName.FindStringSubmatch(d.String()); m != nil {
			out = append(out, m[1])
		}
	}
	return out
}

// gathered are the names of the families g gathers.
func gathered(t *testing.T, g prometheus.Gatherer) []string {
	t.Helper()
	fams, err := g.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, f := range fams {
		out = append(out, f.GetName())
	}
	return out
}

func namesOwnedBy(owner string) []string {
	var out []string
	for _, f := range server.MetricFamilies {
		if owner == "" || f.Owner == owner {
			out = append(out, f.Name)
		}
	}
	return out
}

const probedApp = `apiVersion: proclet.dev/v1alpha1
kind: App
metadata: {name: web}
spec:
  replicas: 1
  command: ["/bin/true"]
  ports: [{name: http, port: 18080}]
  readinessProbe:
    httpGet: {path: /healthz, port: http}
`

// TestMetricFamilies_AreDocumentedAndExported holds the metric list to
// docs/metrics.md and to what the daemon's parts, wired as the daemon
// wires them, export after a short run of an app with a probe: every
// listed family is documented and exported, every documented or exported
// proclet_ family is listed, and each is exported by the owner the list
// names, and by no other.
func TestMetricFamilies_AreDocumentedAndExported(t *testing.T) {
	listed := namesOwnedBy("")
	documented := documentedMetrics(t)
	if m := missing(listed, documented); m != nil {
		t.Errorf("listed in server.MetricFamilies, not documented in docs/metrics.md: %v", m)
	}
	if m := missing(documented, listed); m != nil {
		t.Errorf("documented in docs/metrics.md, not in server.MetricFamilies: %v", m)
	}

	rt := runtimetest.New()
	recReg, srvReg := prometheus.NewRegistry(), prometheus.NewRegistry()
	rec := reconciler.New(reconciler.Options{Runtime: rt, Registerer: recReg})
	coll := server.NewCollector(server.MetricsSources{State: rec, Exits: rec, Probes: server.NewProbeRecorder(), Jobs: finishedJobs{}})
	srv := server.New(server.Options{Status: rec, Registerer: srvReg,
		Node:    &server.NodeOptions{Name: "node-a", Folder: "/srv", SourceRevision: rec.SourceRevision},
		Metrics: server.NewMetricsHandler(prometheus.Gatherers{recReg, srvReg}, coll)})
	for owner, got := range map[string][]string{
		server.OwnerReconciler: gathered(t, recReg),
		server.OwnerServer:     gathered(t, srvReg),
		server.OwnerCollector:  describedBy(coll),
	} {
		if want := namesOwnedBy(owner); !slices.Equal(sorted(got), sorted(want)) {
			t.Errorf("%s exports %v, server.MetricFamilies says it owns %v", owner, sorted(got), sorted(want))
		}
	}

	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() { _ = rec.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()
	apps, err := v1alpha1.DecodeFile("web.yaml", []byte(probedApp))
	if err != nil {
		t.Fatal(err)
	}
	v1alpha1.Default(&apps[0])
	rec.Replace(v1alpha1.Snapshot{Apps: []v1alpha1.SourcedApp{{App: apps[0], Path: "web.yaml", Dir: "/srv"}}})
	poll(func() bool { return len(rt.Running("web")) == 1 && rec.Ready() })
	var scraped []string
	poll(func() bool { scraped = scrapeFamilies(t, srv); return len(missing(listed, scraped)) == 0 })
	if m := missing(listed, scraped); m != nil {
		t.Errorf("listed in server.MetricFamilies, not in a scrape of a running app with a probe: %v", m)
	}
	var ours []string
	for _, n := range scraped {
		if strings.HasPrefix(n, "proclet_") {
			ours = append(ours, n)
		}
	}
	if m := missing(ours, listed); m != nil {
		t.Errorf("exported, not in server.MetricFamilies: %v", m)
	}
}

// finishedJobs is the job stats of a Job that ran once and a CronJob with
// a next slot: the reconciler's own JobStats are tested in reconciler,
// against its runs.
type finishedJobs struct{}

func (finishedJobs) JobStats(fn func(server.JobStats)) {
	at := time.Unix(1_700_000_000, 0)
	fn(server.JobStats{Job: "migrate", Kind: v1alpha1.KindJob, Succeeded: 1, DurationSum: 3, DurationCount: 1,
		Buckets: make([]uint64, len(server.JobDurationBuckets)), LastSuccess: at})
	fn(server.JobStats{Job: "report", Kind: v1alpha1.KindCronJob, NextSchedule: at.Add(time.Hour),
		Buckets: make([]uint64, len(server.JobDurationBuckets))})
}

// poll calls cond every 10 ms until it holds, for 10 s at most.
func poll(cond func() bool) {
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for deadline := time.Now().Add(10 * time.Second); !cond() && time.Now().Before(deadline); {
		<-tick.C
	}
}

// scrapeFamilies is one GET /metrics of srv: the names of its families.
func scrapeFamilies(t *testing.T, srv http.Handler) []string {
	t.Helper()
	w := httptest.NewRecorder()
	srv.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	if w.Code != http.StatusOK {
		t.Fatalf("GET /metrics: %d %s", w.Code, w.Body)
	}
	var out []string
	sc := bufio.NewScanner(w.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		if f, ok := strings.CutPrefix(sc.Text(), "# TYPE "); ok {
			out = append(out, strings.Fields(f)[0])
		}
	}
	return out
}

func sorted(s []string) []string { return slices.Sorted(slices.Values(s)) }
