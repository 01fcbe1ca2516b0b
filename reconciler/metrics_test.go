package reconciler

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"proclet.dev/proclet/apis/v1alpha1"
	"proclet.dev/proclet/runtime"
	"proclet.dev/proclet/runtime/runtimetest"
)

// sampledRT is the fake runtime with usage samples and a panic on demand.
type sampledRT struct {
	*runtimetest.Fake
	panics atomic.Bool
	mu     sync.Mutex
	usage  map[string]runtime.Usage // by uid
}

func (s *sampledRT) Instances(app string) []runtime.State {
	if s.panics.Load() {
		panic("instances exploded")
	}
	return s.withUsage(s.Fake.Instances(app))
}

func (s *sampledRT) AllInstances() []runtime.State {
	if s.panics.Load() {
		panic("instances exploded")
	}
	return s.withUsage(s.Fake.AllInstances())
}

func (s *sampledRT) withUsage(out []runtime.State) []runtime.State {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range out {
		if u, ok := s.usage[out[i].UID]; ok {
			out[i].Usage = u
		}
	}
	return out
}

func (s *sampledRT) setUsage(uid string, u runtime.Usage) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.usage == nil {
		s.usage = map[string]runtime.Usage{}
	}
	s.usage[uid] = u
}

// newMetricsHarness is a Reconciler with a registry, on sampledRT, inside
// a synctest bubble.
func newMetricsHarness(t *testing.T) (*harness, *sampledRT, *prometheus.Registry) {
	t.Helper()
	rt := &sampledRT{Fake: runtimetest.New()}
	reg := prometheus.NewRegistry()
	r := New(Options{Runtime: rt, Workers: 2, Registerer: reg})
	ctx, cancel := context.WithCancel(t.Context())
	h := &harness{t: t, rt: rt.Fake, r: r, stop: cancel, done: make(chan struct{})}
	go func() { _ = r.Run(ctx); close(h.done) }()
	t.Cleanup(func() { cancel(); <-h.done })
	return h, rt, reg
}

func TestMetrics_Loop(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h, _, reg := newMetricsHarness(t)
		if problems, err := testutil.GatherAndLint(reg); err != nil || len(problems) > 0 {
			t.Fatalf("lint before anything: %v %+v", err, problems)
		}
		h.apply(named("web", 2), named("db", 1))
		h.rt.ExitInstance("web-1", 3)
		synctest.Wait()
		h.rt.ExitInstance("db-0", 0)
		synctest.Wait()

		wantExits := map[[2]string]uint64{{"db", "Completed"}: 1, {"db", "Error"}: 0, {"web", "Completed"}: 0, {"web", "Error"}: 1}
		if got := exitCounts(h.r); !maps.Equal(got, wantExits) {
			t.Fatalf("exit counts %v, want %v", got, wantExits)
		}
		var order []string
		h.r.ExitCounts(func(app, reason string, _ uint64) { order = append(order, app+"/"+reason) })
		if want := []string{"db/Completed", "db/Error", "web/Completed", "web/Error"}; !slices.Equal(order, want) {
			t.Fatalf("exit counts in the order %v, want %v", order, want)
		}
		want := `
# HELP proclet_manifest_errors Manifest files failing to parse or validate now.
# TYPE proclet_manifest_errors gauge
proclet_manifest_errors 0
# HELP proclet_reconcile_errors_total Reconcile passes that panicked, and starts and stops the runtime refused.
# TYPE proclet_reconcile_errors_total counter
proclet_reconcile_errors_total 0
`
		if err := testutil.GatherAndCompare(reg, strings.NewReader(want),
			"proclet_manifest_errors", "proclet_reconcile_errors_total"); err != nil {
			t.Fatal(err)
		}
		if n := testutil.CollectAndCount(reg, "proclet_reconcile_duration_seconds"); n != 1 {
			t.Fatalf("reconcile duration series: %d", n)
		}
		if v := gatherValue(t, reg, "proclet_manifest_last_change_timestamp_seconds"); v <= 0 {
			t.Fatalf("last change %v after a snapshot that changed things", v)
		}
		if problems, err := testutil.GatherAndLint(reg); err != nil || len(problems) > 0 {
			t.Fatalf("lint: %v %+v", err, problems)
		}

		// A broken file counts; removing db takes its series with it once
		// its instances are gone.
		snap := v1alpha1.Snapshot{Files: []v1alpha1.FileStatus{
			{Path: "web.yaml", Objects: []string{"web"}},
			{Path: "broken.yaml", Error: &v1alpha1.FileError{File: "broken.yaml", Reason: v1alpha1.ReasonInvalid, Message: "bad"}},
		}}
		web := named("web", 2)
		v1alpha1.Default(web)
		snap.Apps = []v1alpha1.SourcedApp{{App: *web, Path: "web.yaml", Dir: "/srv"}}
		h.r.Replace(snap)
		synctest.Wait()
		for _, uid := range runningUIDs(h.rt, "db") {
			h.rt.Exit(uid, 0)
		}
		synctest.Wait()
		if v := gatherValue(t, reg, "proclet_manifest_errors"); v != 1 {
			t.Fatalf("manifest errors %v, want 1", v)
		}
		wantExits = map[[2]string]uint64{{"web", "Completed"}: 0, {"web", "Error"}: 1}
		if got := exitCounts(h.r); !maps.Equal(got, wantExits) {
			t.Fatalf("exit counts after db was removed: %v, want web's %v", got, wantExits)
		}
	})
}

// exitCounts collects r.ExitCounts by app and reason.
func exitCounts(r *Reconciler) map[[2]string]uint64 {
	out := map[[2]string]uint64{}
	r.ExitCounts(func(app, reason string, n uint64) { out[[2]string{app, reason}] = n })
	return out
}

func runningUIDs(f *runtimetest.Fake, app string) []string {
	var out []string
	for _, s := range f.Instances(app) {
		if s.Running() {
			out = append(out, s.UID)
		}
	}
	return out
}

func gatherValue(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name && len(mf.Metric) == 1 {
			m := mf.Metric[0]
			switch {
			case m.Gauge != nil:
				return m.Gauge.GetValue()
			case m.Counter != nil:
				return m.Counter.GetValue()
			}
		}
	}
	t.Fatalf("no single series %s", name)
	return 0
}

func TestMetrics_CountsPanicsAndRuntimeErrors(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h, rt, reg := newMetricsHarness(t)
		h.rt.StartErr = func(runtime.StartSpec) error { return runtime.ErrClosed }
		h.apply(named("web", 1))
		if v := gatherValue(t, reg, "proclet_reconcile_errors_total"); v < 1 {
			t.Fatalf("errors after a refused start: %v, want at least 1", v)
		}
		h.rt.StartErr = nil
		h.r.q.Add("web")
		synctest.Wait()
		before := gatherValue(t, reg, "proclet_reconcile_errors_total")
		rt.panics.Store(true)
		h.r.q.Add("web")
		synctest.Wait()
		rt.panics.Store(false)
		if v := gatherValue(t, reg, "proclet_reconcile_errors_total"); v != before+1 {
			t.Fatalf("errors after a panic: %v, want %v", v, before+1)
		}
	})
}

func TestRefreshUsage(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h, rt, _ := newMetricsHarness(t)
		h.apply(named("web", 2))
		events, cancel := h.r.Watch(64)
		defer cancel()
		for range len(events) {
			<-events // the initial ADDED events
		}
		insts, _ := h.r.Instances("web")
		h.rt.Calls()
		sampled := time.Now()
		rt.setUsage(insts[0].UID, runtime.Usage{SampledAt: sampled, CPUSeconds: 1.5, CPUPercent: 12, MemoryBytes: 4096,
			Listening: []int32{8080}})
		h.r.RefreshUsage()
		got := h.instance("web", insts[0].Name)
		if got.CPUSeconds != 1.5 || got.CPUPercent != 12 || got.MemoryBytes != 4096 || len(got.Listening) != 1 {
			t.Fatalf("usage not refreshed: %+v", got)
		}
		if other := h.instance("web", insts[1].Name); other.CPUSeconds != 0 || other.MemoryBytes != 0 {
			t.Fatalf("usage of an unsampled instance: %+v", other)
		}
		if c := h.rt.Calls(); len(c) != 0 {
			t.Fatalf("a usage refresh called the runtime: %+v", c)
		}
		select {
		case e := <-events:
			t.Fatalf("a usage refresh published a watch event: %+v", e)
		default:
		}
	})
}

// BenchmarkRefreshUsage1000 is the reconciler's share of a sampling pass
// at 1000 apps of one instance each (on the fake runtime, whose Instances
// scans every instance as the real one does).
func BenchmarkRefreshUsage1000(b *testing.B) {
	rt := &sampledRT{Fake: runtimetest.New()}
	r := New(Options{Runtime: rt, Workers: 2})
	ctx, cancel := context.WithCancel(b.Context())
	done := make(chan struct{})
	go func() { _ = r.Run(ctx); close(done) }()
	b.Cleanup(func() { cancel(); <-done })
	snap := v1alpha1.Snapshot{}
	for i := range 1000 {
		a := named(fmt.Sprintf("app-%04d", i), 1)
		v1alpha1.Default(a)
		snap.Apps = append(snap.Apps, v1alpha1.SourcedApp{App: *a, Path: a.Metadata.Name + ".yaml", Dir: "/srv"})
	}
	r.Replace(snap)
	deadline := time.Now().Add(30 * time.Second)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		insts, _ := r.Instances("")
		running := 0
		for _, i := range insts {
			if i.Phase == v1alpha1.PhaseRunning {
				running++
				rt.setUsage(i.UID, runtime.Usage{SampledAt: time.Now(), CPUSeconds: 1, MemoryBytes: 1 << 20})
			}
		}
		if running == 1000 {
			break
		}
		if time.Now().After(deadline) {
			b.Fatalf("%d of 1000 running", running)
		}
		<-tick.C
	}
	for b.Loop() {
		r.RefreshUsage()
	}
}
