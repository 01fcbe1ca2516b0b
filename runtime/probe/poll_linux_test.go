package probe

import (
	"context"
	"log/slog"
	"net"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"proclet.dev/proclet/apis/v1alpha1"
	rt "proclet.dev/proclet/runtime"
)

// The poller says what the full client says, response by response (the
// table of TestHTTPProbe_Responses, which runs them through the
// scheduler), and it reads the common ones itself: the server sees one
// request per run.
func TestPoller_SameResultsAsTheFullClient(t *testing.T) {
	responses := map[string]string{
		"200":                    "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
		"500":                    "HTTP/1.1 500 Internal Server Error\r\nContent-Length: 4\r\n\r\nfail",
		"204":                    "HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\n",
		"HTTP/1.0 until close":   "HTTP/1.0 200 OK\r\n\r\n" + strings.Repeat("x", 3000),
		"body over the limit":    "HTTP/1.1 200 OK\r\nContent-Length: 20000\r\n\r\n" + strings.Repeat("x", 20000),
		"short body":             "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nshort",
		"no body, then close":    "HTTP/1.1 503 Service Unavailable\r\n\r\n",
		"300 with a Location":    "HTTP/1.1 300 Multiple Choices\r\nLocation: /a\r\nContent-Length: 0\r\n\r\n",
		"302 without a Location": "HTTP/1.1 302 Found\r\nContent-Length: 0\r\n\r\n",
		"closed":                 "",
		"header over the limit":  "HTTP/1.1 200 OK\r\nX-Big: " + strings.Repeat("x", 70<<10) + "\r\n\r\n",
		"big header":             "HTTP/1.1 200 OK\r\nX-Big: " + strings.Repeat("x", 60<<10) + "\r\nContent-Length: 0\r\n\r\n",
		// Left to net/http: read twice.
		"chunked":         "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n",
		"bare LF":         "HTTP/1.1 204 No Content\n\n",
		"garbage":         "hello there\r\n\r\n",
		"1xx":             "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
		"partial header":  "HTTP/1.1 200 OK\r\nContent-Le",
		"two lengths":     "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab",
		"bad header line": "HTTP/1.1 200 OK\r\nno colon\r\n\r\n",
	}
	twice := map[string]bool{"chunked": true, "bare LF": true, "garbage": true, "1xx": true, "partial header": true,
		"two lengths": true, "bad header line": true}
	for name, response := range responses {
		t.Run(name, func(t *testing.T) {
			var hits atomic.Int32
			port := rawServer(t, func(c net.Conn, _ string) {
				hits.Add(1)
				c.Write([]byte(response))
			})
			p := NewHTTP(&v1alpha1.HTTPGetAction{Path: "/healthz"}, port)
			want, _ := directProbe(p, 5*time.Second)
			hits.Store(0)
			got, _ := runProbe(p, 5*time.Second)
			if got != want {
				t.Errorf("poller: %+v\nfull client: %+v", got, want)
			}
			if n, w := hits.Load(), int32(1); n != w && !(twice[name] && n == 2) {
				t.Errorf("%d requests, want %d", n, w)
			}
		})
	}
}

// A connection refused, and a connection reset: the messages of net's
// dialer and connections (a local port aside).
func TestPoller_SameErrorsAsTheFullClient(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	reset := rawServer(t, func(c net.Conn, _ string) {
		c.(*net.TCPConn).SetLinger(0) // an RST
	})
	localPort := regexp.MustCompile(`127\.0\.0\.1:\d+->`)
	for name, r := range map[string]Runner{
		"http refused": NewHTTP(&v1alpha1.HTTPGetAction{}, closed),
		"tcp refused":  NewTCP(&v1alpha1.TCPSocketAction{}, closed),
		"http reset":   NewHTTP(&v1alpha1.HTTPGetAction{}, reset),
	} {
		want, _ := directProbe(r, 5*time.Second)
		got, _ := runProbe(r, 5*time.Second)
		want.Msg, got.Msg = localPort.ReplaceAllString(want.Msg, "L->"), localPort.ReplaceAllString(got.Msg, "L->")
		if got != want || got.OK {
			t.Errorf("%s: poller: %+v\nfull client: %+v", name, got, want)
		}
	}
}

// Hostile servers: one that accepts and never answers, one that sends an
// endless header, one that sends an endless body. Each run ends at its
// timeout or its bound, and the poller reads no more than its bounds.
func TestPoller_HostileServersAreBounded(t *testing.T) {
	stop := make(chan struct{})
	defer close(stop)
	var sent atomic.Int64
	endless := func(prefix string, chunk []byte) func(net.Conn, string) {
		return func(c net.Conn, _ string) {
			c.Write([]byte(prefix))
			for {
				select {
				case <-stop:
					return
				default:
				}
				n, err := c.Write(chunk)
				sent.Add(int64(n))
				if err != nil {
					return
				}
			}
		}
	}
	chunk := []byte(strings.Repeat("x", 32<<10))
	silent := rawServer(t, func(net.Conn, string) { <-stop })
	header := rawServer(t, endless("HTTP/1.1 200 OK\r\nX-Endless: ", chunk))
	body := rawServer(t, endless("HTTP/1.1 200 OK\r\nContent-Length: 1073741824\r\n\r\n", chunk))
	noLength := rawServer(t, endless("HTTP/1.1 200 OK\r\n\r\n", chunk))

	res, took := runProbe(NewHTTP(&v1alpha1.HTTPGetAction{}, silent), 300*time.Millisecond)
	if res.OK || !strings.HasSuffix(res.Msg, ": context deadline exceeded") || took < 300*time.Millisecond || took > 2*time.Second {
		t.Errorf("silent server: %+v after %v, want a timeout at 300ms", res, took)
	}
	sent.Store(0)
	res, _ = runProbe(NewHTTP(&v1alpha1.HTTPGetAction{}, header), 5*time.Second)
	if res.OK || !strings.HasSuffix(res.Msg, "response header over 64 KiB") {
		t.Errorf("endless header: %+v, want the header bound", res)
	}
	for _, port := range []int{body, noLength} {
		sent.Store(0)
		res, took = runProbe(NewHTTP(&v1alpha1.HTTPGetAction{}, port), 5*time.Second)
		if !res.OK || took > 2*time.Second {
			t.Errorf("endless body: %+v after %v, want a success at the body bound", res, took)
		}
	}
	// What the server could write is what the socket buffers hold, not
	// the gigabyte: the probe closed the connection.
	if n := sent.Load(); n > 64<<20 {
		t.Errorf("the server wrote %d MiB to the probe", n>>20)
	}
}

// Many instances probed at once: runs in flight take no goroutine, even
// against a server that never answers, and every other target gets ready.
func TestScheduler_ManyTargetsFewGoroutines(t *testing.T) {
	const n = 1000
	fast := loopServer(t, true)
	silent := loopServer(t, false)
	var (
		s     Scheduler
		wg    sync.WaitGroup
		ready atomic.Int32
		peak  int
	)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	for i := range n {
		port := fast
		if i%2 == 1 {
			port = silent
		}
		w := &Worker{App: "a", Instance: "a-" + strconv.Itoa(i), Started: time.Now(), Log: slog.New(slog.DiscardHandler),
			Readiness: NewLoop(Readiness, &v1alpha1.Probe{TimeoutSeconds: 5, PeriodSeconds: 1},
				NewHTTP(&v1alpha1.HTTPGetAction{}, port)),
			Update: func(_ bool, change func(*rt.ProbeStatus)) {
				var p rt.ProbeStatus
				change(&p)
				if p.Ready {
					ready.Add(1)
				}
			},
		}
		s.Add(ctx, w, &wg, nil)
	}
	deadline := time.Now().Add(20 * time.Second)
	for ready.Load() < n/2 && time.Now().Before(deadline) {
		peak = max(peak, probeGoroutines())
		time.Sleep(10 * time.Millisecond) // polling a count that has no event
	}
	if got := ready.Load(); got != n/2 {
		t.Errorf("%d of %d answering targets ready", got, n/2)
	}
	if peak > 1 {
		t.Errorf("up to %d goroutines of the prober, want 1 (the scheduler's)", peak)
	}
	cancel()
	wg.Wait()
	if g := probeGoroutines(); g != 0 {
		t.Errorf("%d goroutines of the prober left after the stop", g)
	}
}

// loopServer accepts connections in one goroutine: each gets a 200 once
// its request is read (answer), or nothing until the test ends.
func loopServer(t *testing.T, answer bool) int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var conns []net.Conn
	t.Cleanup(func() {
		ln.Close()
		wg.Wait()
		for _, c := range conns {
			c.Close()
		}
	})
	wg.Go(func() {
		buf := make([]byte, 4096)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			if !answer {
				conns = append(conns, c)
				continue
			}
			c.SetDeadline(time.Now().Add(5 * time.Second))
			var head []byte
			for !strings.Contains(string(head), "\r\n\r\n") {
				n, err := c.Read(buf)
				if head = append(head, buf[:n]...); err != nil {
					break
				}
			}
			c.Write([]byte("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"))
			c.Close()
		}
	})
	return ln.Addr().(*net.TCPAddr).Port
}

// probeGoroutines counts the goroutines of schedulers and their pools.
func probeGoroutines() int {
	buf := make([]byte, 8<<20)
	buf = buf[:runtime.Stack(buf, true)]
	n := 0
	for g := range strings.SplitSeq(string(buf), "\n\n") {
		if strings.Contains(g, "probe.(*Scheduler).loop") || strings.Contains(g, "probe.(*pool).runner") {
			n++
		}
	}
	return n
}

// A lone instance whose probe fails at once (a refused connect, ended
// in the scheduler's goroutine) is probed again every period.
func TestScheduler_ProbesAgainAfterAnImmediateFailure(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	var (
		s    Scheduler
		wg   sync.WaitGroup
		runs atomic.Int32
	)
	ctx, cancel := context.WithCancel(context.Background())
	w := &Worker{App: "a", Instance: "a-0", Started: time.Now(), Log: slog.New(slog.DiscardHandler),
		Readiness: NewLoop(Readiness, &v1alpha1.Probe{PeriodSeconds: 1}, NewTCP(&v1alpha1.TCPSocketAction{}, port)),
		Update:    func(bool, func(*rt.ProbeStatus)) {},
		OnProbe:   func(string, string, bool, time.Duration) { runs.Add(1) },
	}
	s.Add(ctx, w, &wg, nil)
	for deadline := time.Now().Add(10 * time.Second); runs.Load() < 3 && time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond) // polling a count that has no event
	}
	cancel()
	wg.Wait()
	if n := runs.Load(); n < 3 {
		t.Errorf("%d runs in 10 s with a period of 1 s", n)
	}
}
