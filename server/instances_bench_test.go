package server

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"proclet.dev/proclet/apis/v1alpha1"
)

// benchStatus is a fakeStatus of n one-instance apps shaped like the
// steady-state workload (no ports, one exit).
func benchStatus(n int) *fakeStatus {
	f := &fakeStatus{instances: map[string][]v1alpha1.Instance{}, ready: true}
	at := time.Unix(1_700_000_000, 123456789).UTC()
	for a := range n {
		name := fmt.Sprintf("a%d", a)
		f.apps = append(f.apps, v1alpha1.App{Metadata: v1alpha1.ObjectMeta{Name: name}})
		inst := v1alpha1.Instance{Name: name + "-0", App: name, UID: fmt.Sprintf("d4f15509-640b-44b4-af19-%012d", a),
			Revision: "f5387232fb", Phase: v1alpha1.PhaseRunning, Ready: true, PID: 6000 + a, Ports: map[string]int32{},
			Listening: []int32{}, StartedAt: &at, CPUPercent: 0.2, MemoryBytes: 6668288, CPUSeconds: 1.25}
		if a%10 == 0 {
			inst.Restarts = 1
			inst.LastExit = &v1alpha1.ExitStatus{Code: 1, Reason: "Error", At: at}
		}
		f.instances[name] = []v1alpha1.Instance{inst}
	}
	return f
}

// BenchmarkListInstances1000 serves GET /api/v1/instances over 1000
// instances, as the steady-state benchmark's curl does.
func BenchmarkListInstances1000(b *testing.B) {
	s := New(Options{Status: benchStatus(1000)})
	var size int
	cpu := cpuTime()
	for b.Loop() {
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/api/v1/instances", nil))
		if rec.Code != 200 {
			b.Fatalf("status %d", rec.Code)
		}
		size = rec.Body.Len()
	}
	b.ReportMetric(float64(size), "body-bytes")
	reportCPU(b, cpu)
}
