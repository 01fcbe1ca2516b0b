package probe

import (
	"context"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"proclet.dev/proclet/apis/v1alpha1"
	"proclet.dev/proclet/runtime"
)

// BenchmarkScheduler1000HTTP is the daemon's probing at 1000 instances,
// sped up: 1000 readiness probes with a 1 s period (1000 runs a second)
// on one Scheduler, against a server in another process, until b.N runs
// are done. cpu-ns/op is this process's CPU (user + system) per run: the
// prober alone, its wakes, system calls and garbage included. "poller"
// is the daemon's way; "pool" sends every run to the runner goroutines,
// through net's dialer and net/http's parser (the way before the poller,
// minus a goroutine per instance).
func BenchmarkScheduler1000HTTP(b *testing.B) {
	port := helperServer(b)
	for _, mode := range []string{"poller", "pool"} {
		b.Run(mode, func(b *testing.B) {
			var (
				s    = Scheduler{noPoll: mode == "pool"}
				wg   sync.WaitGroup
				runs atomic.Int64
				done = make(chan struct{})
				once sync.Once
			)
			var failed atomic.Int64
			ctx, cancel := context.WithCancel(context.Background())
			b.ReportAllocs()
			for i := range 1000 {
				w := &Worker{App: "a", Instance: "a-" + strconv.Itoa(i), Started: time.Now(), Log: slog.New(slog.DiscardHandler),
					Readiness: NewLoop(Readiness, &v1alpha1.Probe{PeriodSeconds: 1}, NewHTTP(&v1alpha1.HTTPGetAction{Path: "/healthz"}, port)),
					Update:    func(bool, func(*runtime.ProbeStatus)) {},
					OnProbe: func(_, _ string, ok bool, _ time.Duration) {
						if !ok {
							failed.Add(1) // a timeout on a loaded host
						}
						if runs.Add(1) >= int64(b.N) {
							once.Do(func() { close(done) })
						}
					},
				}
				s.Add(ctx, w, &wg, nil)
			}
			// The workers are built; the first runs wait for the next tick.
			before := cpuTime(b)
			b.ResetTimer()
			<-done
			b.StopTimer()
			cpu := cpuTime(b) - before
			cancel()
			wg.Wait()
			b.ReportMetric(float64(cpu)/float64(runs.Load()), "cpu-ns/op")
			b.ReportMetric(float64(failed.Load())/float64(runs.Load()), "failed/op")
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

// helperServer runs TestHelperHTTPServer in a child process (this test
// binary) and returns its port; the child is killed when b ends.
func helperServer(b *testing.B) int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperHTTPServer$")
	cmd.Env = append(os.Environ(), "PROBE_HELPER_PORT="+strconv.Itoa(port))
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	for deadline := time.Now().Add(10 * time.Second); ; {
		c, err := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(port))
		if err == nil {
			c.Close()
			return port
		}
		if time.Now().After(deadline) {
			b.Fatalf("the helper server does not listen: %v", err)
		}
		time.Sleep(5 * time.Millisecond) // a benchmark's setup; a port has no event to wait on
	}
}

// TestHelperHTTPServer is the server of the benchmarks, in a child
// process: each connection gets a 200 once its request is read. It does
// nothing in a normal test run.
func TestHelperHTTPServer(t *testing.T) {
	port := os.Getenv("PROBE_HELPER_PORT")
	if port == "" {
		t.Skip("the benchmarks' server; runs in their child process")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:"+port)
	if err != nil {
		t.Fatal(err)
	}
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		go func() {
			defer c.Close()
			buf := make([]byte, 4096)
			var head []byte
			for !strings.Contains(string(head), "\r\n\r\n") {
				n, err := c.Read(buf)
				if head = append(head, buf[:n]...); err != nil {
					return
				}
			}
			c.Write([]byte("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"))
		}()
	}
}
