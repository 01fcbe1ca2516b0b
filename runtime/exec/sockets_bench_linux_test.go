package exec

import (
	"context"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"proclet.dev/proclet/apis/v1alpha1"
	"proclet.dev/proclet/runtime"
)

// BenchmarkStartSocketShim is what the exec shim costs a start: the time
// from Start to the workload's first instruction of main (its
// --mark-start stamp), for a plain start and for one with a socket, which
// goes through the shim (here a freshly built bin/proclet, as the daemon
// runs it). Compare start-to-main-p50 of the two in one run: the median,
// as a busy host's outliers swamp a mean.
func BenchmarkStartSocketShim(b *testing.B) {
	e, ctx := shimBenchRuntime(b)
	l, port := 0, int32(0)
	for _, withSocket := range []bool{false, true} {
		name := "plain"
		if withSocket {
			name = "socket"
		}
		b.Run(name, func(b *testing.B) {
			marks := b.TempDir()
			var took []time.Duration
			for i := 0; b.Loop(); i++ {
				l++
				s := runtime.StartSpec{UID: "u" + strconv.Itoa(l), App: "bench", Instance: "bench-" + strconv.Itoa(l), Ordinal: l,
					Revision: "r", Dir: marks, Spec: &v1alpha1.AppSpec{Command: []string{workload, "--exit-after", "0", "--mark-start", marks}}}
				if withSocket {
					if port == 0 {
						port = freeTCPPort(b)
					}
					s.Spec.Sockets = []v1alpha1.SocketSpec{{Name: "http", Port: port, Host: "127.0.0.1"}}
				}
				t0 := time.Now()
				st, err := e.Start(ctx, s)
				if err != nil {
					b.Fatal(err)
				}
				stamp := waitStamp(b, filepath.Join(marks, s.Instance+"."+strconv.Itoa(st.PID)))
				took = append(took, stamp.Sub(t0))
				for e.releaseIfExited(s.UID) {
				}
			}
			slices.Sort(took)
			b.ReportMetric(float64(took[len(took)/2].Microseconds())/1000, "ms-start-to-main-p50")
		})
	}
}

// releaseIfExited releases uid once it exited; true while it runs.
func (e *Runtime) releaseIfExited(uid string) bool {
	e.mu.Lock()
	h := e.handles[uid]
	done := h == nil || h.live.finished
	e.mu.Unlock()
	if done {
		e.Release(uid)
		return false
	}
	time.Sleep(time.Millisecond) // polling the exit between iterations: not timed
	return true
}

// waitStamp polls for the workload's start stamp (nanoseconds since the
// epoch, written first thing in main) and returns it.
func waitStamp(b *testing.B, path string) time.Time {
	deadline := time.Now().Add(10 * time.Second)
	for {
		if data, err := os.ReadFile(path); err == nil && len(data) > 0 {
			ns, err := strconv.ParseInt(strings.TrimSpace(string(data)), 10, 64)
			if err == nil {
				return time.Unix(0, ns)
			}
		}
		if time.Now().After(deadline) {
			b.Fatalf("no start stamp %s", path)
		}
		time.Sleep(200 * time.Microsecond) // polling the stamp: it holds the time, not when it was read
	}
}

// shimBenchRuntime is a running Runtime whose shims are a freshly built
// bin/proclet, as the daemon runs them; b's cleanup stops it all.
func shimBenchRuntime(b *testing.B) (*Runtime, context.Context) {
	bin := filepath.Join(b.TempDir(), "proclet")
	if out, err := exec.Command("go", "build", "-o", bin, "proclet.dev/proclet/cmd/proclet").CombinedOutput(); err != nil {
		b.Fatalf("build proclet: %v\n%s", err, out)
	}
	old := shimPath
	shimPath = bin
	e, err := New(Options{StateDir: b.TempDir(), Log: slog.New(slog.DiscardHandler), Env: []string{"PATH=/usr/bin:/bin"}})
	if err != nil {
		shimPath = old
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	go e.Run(ctx)
	b.Cleanup(func() {
		e.StopAll(context.Background(), "BenchmarkCleanup")
		cancel()
		shimPath = old
	})
	return e, ctx
}
