package reconciler

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"proclet.dev/proclet/apis/v1alpha1"
	"proclet.dev/proclet/runtime"
	"proclet.dev/proclet/runtime/runtimetest"
)

// slowStarts is a fake runtime whose Start takes 10 ms (of the bubble's
// clock) and which records how many Starts ran at once.
type slowStarts struct {
	*runtimetest.Fake
	inflight, most atomic.Int32
}

func (s *slowStarts) Start(ctx context.Context, spec runtime.StartSpec) (runtime.State, error) {
	n := s.inflight.Add(1)
	defer s.inflight.Add(-1)
	for {
		m := s.most.Load()
		if n <= m || s.most.CompareAndSwap(m, n) {
			break
		}
	}
	time.Sleep(10 * time.Millisecond)
	return s.Fake.Start(ctx, spec)
}

func startedOrder(r *Reconciler, app string) []string {
	var order []string
	evs := r.Events(app, 0)
	for i := len(evs) - 1; i >= 0; i-- { // newest first
		if evs[i].Reason == "Started" {
			order = append(order, evs[i].Object)
		}
	}
	return order
}

// startOne runs a Reconciler with one worker on slowStarts, applies app
// alone and lets a second of the bubble's clock pass. Call it inside
// synctest.Test.
func startOne(t *testing.T, a *v1alpha1.App) (*slowStarts, *Reconciler) {
	rt := &slowStarts{Fake: runtimetest.New()}
	r := New(Options{Runtime: rt, Workers: 1})
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() { _ = r.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })

	v1alpha1.Default(a)
	path := a.Metadata.Name + ".yaml"
	r.Replace(v1alpha1.Snapshot{Apps: []v1alpha1.SourcedApp{{App: *a, Path: path, Dir: "/srv"}},
		Files: []v1alpha1.FileStatus{{Path: path, Objects: []string{a.Metadata.Name}}}})
	synctest.Wait()
	time.Sleep(time.Second)
	synctest.Wait()
	return rt, r
}

func TestReconciler_StartsReplicasOfOneAppInParallel(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rt, r := startOne(t, named("many", 10))

		if got := len(rt.Running("many")); got != 10 {
			t.Fatalf("running: %d, want 10", got)
		}
		if got := rt.most.Load(); got != 4 {
			t.Errorf("at most %d starts at once, want 4", got)
		}
		want := "many-0 many-1 many-2 many-3 many-4 many-5 many-6 many-7 many-8 many-9"
		if got := strings.Join(startedOrder(r, "many"), " "); got != want {
			t.Errorf("Started events: %s, want them in ordinal order: %s", got, want)
		}
	})
}

func TestReconciler_StartsReplicasWithPortsOneByOne(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a := named("web", 4)
		a.Spec.Ports = []v1alpha1.PortSpec{{Name: "http", Range: "20000-20009"}}
		rt, _ := startOne(t, a)

		if got := len(rt.Running("web")); got != 4 {
			t.Fatalf("running: %d, want 4", got)
		}
		if got := rt.most.Load(); got != 1 {
			t.Errorf("at most %d starts at once, want 1 (ports go to the lowest ordinal first)", got)
		}
	})
}
