package reconciler

import (
	"context"
	"testing"
	"testing/synctest"

	"proclet.dev/proclet/apis/v1alpha1"
	"proclet.dev/proclet/runtime"
	"proclet.dev/proclet/runtime/runtimetest"
)

// stuckStarts is a fake runtime whose starts block until release is
// closed: a pass that never ends.
type stuckStarts struct {
	*runtimetest.Fake
	release chan struct{}
}

func (s stuckStarts) Start(ctx context.Context, spec runtime.StartSpec) (runtime.State, error) {
	<-s.release
	return s.Fake.Start(ctx, spec)
}

// TestHeartbeat_AnsweredOnlyByAFreeWorker: an idle loop answers every
// heartbeat; one whose only worker is stuck in a pass answers none, and
// answers again once the pass ends. Nothing answers before Run.
func TestHeartbeat_AnsweredOnlyByAFreeWorker(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rt := stuckStarts{Fake: runtimetest.New(), release: make(chan struct{})}
		r := New(Options{Runtime: rt, Workers: 1})
		early := r.Heartbeat()
		synctest.Wait()
		if got := r.HeartbeatAnswered(); got != 0 {
			t.Fatalf("answered %d before Run", got)
		}
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan struct{})
		go func() { _ = r.Run(ctx); close(done) }()
		defer func() { cancel(); <-done }()
		synctest.Wait()
		if got := r.HeartbeatAnswered(); got < early {
			t.Fatalf("idle loop answered %d, want >= %d", got, early)
		}
		idle := r.Heartbeat()
		synctest.Wait()
		if got := r.HeartbeatAnswered(); got != idle {
			t.Fatalf("idle loop answered %d, want %d", got, idle)
		}

		a := named("web", 1)
		v1alpha1.Default(a)
		r.Replace(v1alpha1.Snapshot{Apps: []v1alpha1.SourcedApp{{App: *a, Path: "web.yaml", Dir: "/srv"}},
			Files: []v1alpha1.FileStatus{{Path: "web.yaml", Objects: []string{"web"}}}})
		synctest.Wait() // the only worker is now stuck in web's start
		stuck := r.Heartbeat()
		synctest.Wait()
		if got := r.HeartbeatAnswered(); got >= stuck {
			t.Fatalf("a stuck loop answered ticket %d", got)
		}
		close(rt.release)
		synctest.Wait()
		if got := r.HeartbeatAnswered(); got < stuck {
			t.Fatalf("after the pass ended: answered %d, want >= %d", got, stuck)
		}
		if !r.Ready() {
			t.Fatal("the heartbeat kept the first sync from completing")
		}
	})
}
