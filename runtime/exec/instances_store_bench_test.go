//go:build linux

package exec

import (
	"fmt"
	"testing"
	"time"

	"proclet.dev/proclet/apis/v1alpha1"
	"proclet.dev/proclet/runtime"
)

// BenchmarkWriteInstances is the write of instances.json after one
// instance of n restarted: what the flush loop does once a crash's exit
// and restart have marked the store dirty.
func BenchmarkWriteInstances(b *testing.B) {
	for _, n := range []int{1000, 5000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			e, err := New(Options{StateDir: b.TempDir()})
			if err != nil {
				b.Fatal(err)
			}
			t0 := time.Date(2026, 12, 8, 3, 0, 0, 0, time.UTC)
			var hs []*handle
			for i := range n {
				app := fmt.Sprintf("app-%04d", i)
				spec := &v1alpha1.AppSpec{Command: []string{"/usr/local/bin/workload", "--mark-start", "/tmp/marks"}}
				s := runtime.StartSpec{UID: fmt.Sprintf("%032x", i), App: app, Instance: app + "-0", Revision: "0123456789abcdef", Spec: spec, Dir: "/srv/manifests"}
				h := &handle{handleFixed: handleFixed{spec: s, pid: 10000 + i, startTicks: 12345},
					live: handleLive{state: runtime.State{UID: s.UID, App: app, Instance: s.Instance, PID: 10000 + i, StartedAt: t0}}}
				e.handles[s.UID] = h
				hs = append(hs, h)
			}
			e.writeInstances()
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				h := hs[i%n]
				e.mu.Lock()
				h.live.state.StartedAt = h.live.state.StartedAt.Add(time.Second) // a restart
				e.mu.Unlock()
				e.writeInstances()
			}
		})
	}
}
