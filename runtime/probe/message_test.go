package probe

import (
	"testing"
	"testing/synctest"
	"time"

	"proclet.dev/proclet/apis/v1alpha1"
)

// A readiness probe short of its successThreshold keeps its failure as the
// message (it is still why the instance is not ready); the message goes
// with the Ready flip, and the status carries no stale failure afterwards.
func TestProbeWorker_MessageClearedWhenReady(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := probeSpec(1, 0)
		p.SuccessThreshold = 3
		spec := &v1alpha1.AppSpec{ReadinessProbe: p}
		r := &script{t0: time.Now(), result: okFrom(3*time.Second, "HTTP 503")}
		pt := newProbeTest(t, spec, map[Kind]Runner{Readiness: r})
		pt.start()
		time.Sleep(4*time.Second + time.Millisecond) // two successes of three
		if st, _ := pt.rec.snapshot(); st.Ready || st.Message != "readiness probe: HTTP 503" {
			t.Fatalf("short of the success threshold: %+v, want not ready with the failure", st)
		}
		time.Sleep(time.Second) // the third
		if st, _ := pt.rec.snapshot(); !st.Ready || st.Message != "" {
			t.Fatalf("at the success threshold: %+v, want ready without a message", st)
		}
	})
}

// A liveness failure short of its failureThreshold is said in the message
// and unsaid by the next success.
func TestProbeWorker_LivenessBlipCleared(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := probeSpec(1, 0)
		p.FailureThreshold = 3
		spec := &v1alpha1.AppSpec{LivenessProbe: p}
		r := &script{t0: time.Now(), result: func(since time.Duration) Result {
			if since >= 2*time.Second && since < 3*time.Second {
				return Result{Msg: "connection refused"}
			}
			return Result{OK: true}
		}}
		pt := newProbeTest(t, spec, map[Kind]Runner{Liveness: r})
		pt.start()
		time.Sleep(2*time.Second + time.Millisecond)
		synctest.Wait()
		if st, _ := pt.rec.snapshot(); st.Message != "liveness probe: connection refused" {
			t.Fatalf("after one failure: message %q", st.Message)
		}
		time.Sleep(time.Second)
		synctest.Wait()
		if st, _ := pt.rec.snapshot(); st.Message != "" || st.Failed != "" {
			t.Fatalf("after the next success: %+v, want no message", st)
		}
	})
}
