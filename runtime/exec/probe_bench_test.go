//go:build linux

package exec

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"strconv"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"proclet.dev/proclet/apis/v1alpha1"
	"proclet.dev/proclet/runtime/probe"
)

// The cost of one probe run. The *Process benchmarks probe a server in
// another process (the workload, as in the daemon) and report cpu-ns/op:
// this process's CPU time (user + system, from getrusage) per run, which
// is the prober's cost alone; ns/op is wall time. "paced" runs one probe
// every 2 ms, each from idle as in the daemon (its wakeups cost too), and
// "loop" back to back (BenchmarkNoopProbe is the pacing alone). The
// in-process benchmarks (HTTPProbe, TCPProbe) count client and server
// together. One probe run alone is not the whole cost in the daemon:
// runs on the same probeTick share the wake (runtime/probe).

func BenchmarkHTTPProbe(b *testing.B) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte("ok")) }))
	defer srv.Close()
	p := probe.NewHTTP(&v1alpha1.HTTPGetAction{Path: "/healthz"}, srv.Listener.Addr().(*net.TCPAddr).Port)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if res := p.Probe(ctx); !res.OK {
			b.Fatal(res.Msg)
		}
	}
}

func BenchmarkHTTPProbeProcess(b *testing.B) {
	port := startWorkloadServer(b)
	p := probe.NewHTTP(&v1alpha1.HTTPGetAction{Path: "/healthz"}, port)
	benchProbeCPU(b, p)
}

func BenchmarkTCPProbeProcess(b *testing.B) {
	port := startWorkloadServer(b)
	benchProbeCPU(b, probe.NewTCP(&v1alpha1.TCPSocketAction{}, port))
}

func BenchmarkTCPProbe(b *testing.B) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	p := probe.NewTCP(&v1alpha1.TCPSocketAction{}, ln.Addr().(*net.TCPAddr).Port)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if res := p.Probe(ctx); !res.OK {
			b.Fatal(res.Msg)
		}
	}
}

func BenchmarkExecProbe(b *testing.B) {
	p, err := newExecProbe("exec.command", []string{"/bin/true"}, newEnvList([]string{"PATH=/usr/bin:/bin"}), 0, b.TempDir(), nil)
	if err != nil {
		b.Fatal(err)
	}
	benchProbeCPU(b, p)
}

// benchProbeCPU runs p with a 1 s timeout, as the worker does, and
// reports this process's CPU per run: back to back ("loop"), one every
// 2 ms ("paced": each from idle), and ten at once every 20 ms ("tick10":
// as the loops of ten instances woken by the same probeTick).
func benchProbeCPU(b *testing.B, p probe.Runner) {
	run := func(b *testing.B) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		if res := p.Probe(ctx); !res.OK {
			b.Error(res.Msg)
		}
	}
	for _, mode := range []struct {
		name  string
		pace  time.Duration
		batch int
	}{{"loop", 0, 1}, {"paced", 2 * time.Millisecond, 1}, {"tick10", 20 * time.Millisecond, 10}} {
		b.Run(mode.name, func(b *testing.B) {
			var tick *time.Ticker
			if mode.pace > 0 {
				tick = time.NewTicker(mode.pace)
				defer tick.Stop()
			}
			b.ReportAllocs()
			before := cpuTime(b)
			b.ResetTimer()
			for n := 0; n < b.N; n += mode.batch {
				if tick != nil {
					<-tick.C
				}
				if mode.batch == 1 {
					run(b)
					continue
				}
				var wg sync.WaitGroup
				for range mode.batch {
					wg.Go(func() { run(b) })
				}
				wg.Wait()
			}
			b.StopTimer()
			b.ReportMetric(float64(cpuTime(b)-before)/float64(b.N), "cpu-ns/op")
		})
	}
}

// cpuTime is this process's user and system CPU time so far.
func cpuTime(b *testing.B) time.Duration {
	var ru unix.Rusage
	if err := unix.Getrusage(unix.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// startWorkloadServer starts the workload serving HTTP on a free loopback
// port, waits until it answers, and kills it when b ends.
func startWorkloadServer(b *testing.B) int {
	b.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	cmd := exec.Command(workload, "--port", "127.0.0.1:"+strconv.Itoa(port))
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(port), time.Second)
		if err == nil {
			c.Close()
			return port
		}
		if time.Now().After(deadline) {
			b.Fatalf("the workload does not listen on %d: %v", port, err)
		}
		time.Sleep(5 * time.Millisecond) // a benchmark's setup; polling a port that has no event to wait on
	}
}

// BenchmarkNoopProbe is the pacing alone: what "paced" costs without a
// probe (a wake from idle every 2 ms), to subtract from the others.
func BenchmarkNoopProbe(b *testing.B) {
	benchProbeCPU(b, probe.Func(func(context.Context) probe.Result { return probe.Result{OK: true} }))
}
