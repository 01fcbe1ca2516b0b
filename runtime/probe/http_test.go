package probe

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	goruntime "runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"proclet.dev/proclet/apis/v1alpha1"

	"proclet.dev/proclet/runtime"
)

// serverPort is the port of an httptest server (it listens on 127.0.0.1).
func serverPort(t *testing.T, s *httptest.Server) int {
	t.Helper()
	u, err := url.Parse(s.URL)
	if err != nil {
		t.Fatal(err)
	}
	p, err := strconv.Atoi(u.Port())
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// runProbe runs r once as the daemon does: on a Scheduler, by its poller
// when r is an HTTP (plain) or TCP probe of an IP address, else by its
// pool.
func runProbe(r Runner, timeout time.Duration) (Result, time.Duration) {
	return scheduledProbe(&Scheduler{}, r, timeout)
}

// directProbe runs r once in the caller's goroutine, as the pool does.
func directProbe(r Runner, timeout time.Duration) (Result, time.Duration) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	begin := time.Now()
	res := r.Probe(ctx)
	return res, time.Since(begin)
}

// scheduledProbe runs r once on s, as a startup probe that fails at the
// first failure: its one run ends the worker.
func scheduledProbe(s *Scheduler, r Runner, timeout time.Duration) (Result, time.Duration) {
	l := NewLoop(Startup, &v1alpha1.Probe{FailureThreshold: 1}, r)
	l.timeout = timeout
	var (
		res  Result
		took time.Duration
		wg   sync.WaitGroup
		done = make(chan struct{})
	)
	w := &Worker{App: "web", Instance: "web-0", Started: time.Now(), Startup: l, Log: slog.New(slog.DiscardHandler),
		Update:   func(bool, func(*runtime.ProbeStatus)) {},
		onResult: func(r Result, d time.Duration) { res, took = r, d },
	}
	s.Add(context.Background(), w, &wg, func() { close(done) })
	<-done
	wg.Wait()
	return res, took
}

// 200, 302 to the same host, 302 to another host, 399, 400 and
// a body over 10 KiB.
func TestHTTPProbe_Semantics(t *testing.T) {
	var mu sync.Mutex
	hits := map[string]int{}
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		hits[r.URL.Path]++
		mu.Unlock()
		switch r.URL.Path {
		case "/ok":
		case "/same":
			http.Redirect(w, r, "/ok", http.StatusFound)
		case "/other":
			http.Redirect(w, r, "http://other.invalid/ok", http.StatusFound)
		case "/loop":
			http.Redirect(w, r, "/loop", http.StatusFound)
		case "/399":
			w.WriteHeader(399)
		case "/400":
			w.WriteHeader(http.StatusBadRequest)
		case "/503":
			w.WriteHeader(http.StatusServiceUnavailable)
		case "/big":
			w.Write([]byte(strings.Repeat("x", 1<<20)))
		}
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	port := serverPort(t, srv)

	tests := []struct {
		path    string
		ok      bool
		msg     string // a substring of the message; "" for none
		alsoHit string // the path that must have been hit too
	}{
		{"/ok", true, "", ""},
		{"/same", true, "", "/ok"},
		{"/other", true, "redirect to another host not followed: http://other.invalid/ok", ""},
		{"/399", true, "", ""},
		{"/400", false, "HTTP 400", ""},
		{"/503", false, "HTTP 503", ""},
		{"/big", true, "", ""},
		{"/loop", false, "stopped after 10 redirects", ""},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			p := NewHTTP(&v1alpha1.HTTPGetAction{Path: tt.path, Scheme: "HTTP"}, port)
			res, _ := runProbe(p, 5*time.Second)
			if res.OK != tt.ok || (tt.msg == "" && res.Msg != "") || !strings.Contains(res.Msg, tt.msg) {
				t.Errorf("result %+v, want ok=%v with message %q", res, tt.ok, tt.msg)
			}
			if tt.alsoHit != "" {
				mu.Lock()
				n := hits[tt.alsoHit]
				mu.Unlock()
				if n == 0 {
					t.Errorf("redirect to %s not followed", tt.alsoHit)
				}
			}
		})
	}
}

// A body much larger than the limit, followed by a stall: a probe that
// read it all would time out.
func TestHTTPProbe_ReadsAtMostTheLimit(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", strconv.Itoa(4<<20))
		w.Write([]byte(strings.Repeat("x", 64<<10)))
		w.(http.Flusher).Flush()
		select { // never sends the rest
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(release)
	p := NewHTTP(&v1alpha1.HTTPGetAction{Path: "/"}, serverPort(t, srv))
	res, took := runProbe(p, 5*time.Second)
	if !res.OK || took > 2*time.Second {
		t.Errorf("result %+v after %v, want a success at once", res, took)
	}
}

func TestHTTPProbe_HeadersHostAndNoKeepAlive(t *testing.T) {
	type seen struct {
		header     http.Header
		host       string
		close      bool
		remoteAddr string
	}
	got := make(chan seen, 4)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got <- seen{r.Header.Clone(), r.Host, r.Close, r.RemoteAddr}
	}))
	defer srv.Close()
	p := NewHTTP(&v1alpha1.HTTPGetAction{Path: "/healthz?verbose=1", HTTPHeaders: []v1alpha1.HTTPHeader{
		{Name: "X-Probe", Value: "a"}, {Name: "X-Probe", Value: "b"}, {Name: "Host", Value: "web.example"}, {Name: "User-Agent", Value: "mine"},
	}}, serverPort(t, srv))
	for range 2 {
		if res, _ := runProbe(p, 5*time.Second); !res.OK {
			t.Fatalf("probe failed: %s", res.Msg)
		}
	}
	a, b := <-got, <-got
	if v := a.header.Values("X-Probe"); len(v) != 2 || v[0] != "a" || v[1] != "b" {
		t.Errorf("X-Probe %v, want [a b]", v)
	}
	if a.host != "web.example" || a.header.Get("User-Agent") != "mine" || a.header.Get("Accept") != "*/*" {
		t.Errorf("host %q, headers %v", a.host, a.header)
	}
	if !a.close || a.header.Get("Connection") != "close" {
		t.Errorf("request asked for keep-alive: close=%v, headers %v", a.close, a.header)
	}
	if a.remoteAddr == b.remoteAddr {
		t.Errorf("two probes shared the connection from %s", a.remoteAddr)
	}
}

func TestHTTPProbe_HTTPSSkipsVerification(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	defer srv.Close()
	p := NewHTTP(&v1alpha1.HTTPGetAction{Path: "/", Scheme: "HTTPS"}, serverPort(t, srv))
	if res, _ := runProbe(p, 5*time.Second); !res.OK {
		t.Errorf("HTTPS probe of a self-signed server failed: %s", res.Msg)
	}
}

func TestHTTPProbe_TimesOutOnAServerThatNeverAnswers(t *testing.T) {
	// A listener that accepts and never answers.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var conns []net.Conn
	var mu sync.Mutex
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	defer func() {
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
	}()
	p := NewHTTP(&v1alpha1.HTTPGetAction{Path: "/"}, ln.Addr().(*net.TCPAddr).Port)
	res, took := runProbe(p, 300*time.Millisecond)
	if res.OK || !strings.Contains(res.Msg, "context deadline exceeded") {
		t.Errorf("result %+v, want a timeout failure", res)
	}
	if took < 300*time.Millisecond || took > 2*time.Second {
		t.Errorf("took %v, want the timeout (300ms)", took)
	}
}

func TestHTTPProbe_ConnectionRefused(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	res, _ := runProbe(NewHTTP(&v1alpha1.HTTPGetAction{Path: "/"}, port), 2*time.Second)
	if res.OK || !strings.Contains(res.Msg, "connection refused") {
		t.Errorf("result %+v, want connection refused", res)
	}
}

func TestHTTPProbe_IgnoresProxyEnvironment(t *testing.T) {
	t.Setenv("HTTP_PROXY", "http://127.0.0.1:1")
	t.Setenv("http_proxy", "http://127.0.0.1:1")
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	defer srv.Close()
	if res, _ := runProbe(NewHTTP(&v1alpha1.HTTPGetAction{Path: "/"}, serverPort(t, srv)), 2*time.Second); !res.OK {
		t.Errorf("probe went through the proxy: %s", res.Msg)
	}
}

// rawServer accepts connections on loopback and answers each with
// respond, which gets the request's head as read (up to the blank line).
// It returns the port; connections are closed when respond returns.
func rawServer(t *testing.T, respond func(c net.Conn, head string)) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() {
		ln.Close()
		wg.Wait()
	})
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Go(func() {
				defer c.Close()
				c.SetDeadline(time.Now().Add(10 * time.Second))
				var head []byte
				buf := make([]byte, 4096)
				for !strings.Contains(string(head), "\r\n\r\n") {
					n, err := c.Read(buf)
					head = append(head, buf[:n]...)
					if err != nil {
						return
					}
				}
				respond(c, string(head))
			})
		}
	})
	return ln.Addr().(*net.TCPAddr).Port
}

// answer is a respond func writing s.
func answer(s string) func(net.Conn, string) {
	return func(c net.Conn, _ string) { c.Write([]byte(s)) }
}

// Responses a real server may send, or a broken one.
func TestHTTPProbe_Responses(t *testing.T) {
	tests := []struct {
		name     string
		response string
		ok       bool
		msg      string // a substring of the message; "" for none
	}{
		{"200", "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", true, ""},
		{"399", "HTTP/1.1 399 Whatever\r\nContent-Length: 0\r\n\r\n", true, ""},
		{"400", "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n", false, "HTTP 400"},
		{"500", "HTTP/1.1 500 Internal Server Error\r\nContent-Length: 4\r\n\r\nfail", false, "HTTP 500"},
		{"1xx, then nothing", "HTTP/1.1 199 Odd\r\n\r\n", false, "unexpected EOF"},
		{"1xx only", strings.Repeat("HTTP/1.1 103 Early Hints\r\n\r\n", 5), false, "HTTP 103"},
		{"101", "HTTP/1.1 101 Switching Protocols\r\n\r\n", false, "HTTP 101"},
		{"100 then 200", "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", true, ""},
		{"HTTP/1.0, body until close", "HTTP/1.0 200 OK\r\n\r\n" + strings.Repeat("x", 3000), true, ""},
		{"chunked", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n", true, ""},
		{"bare LF", "HTTP/1.1 204 No Content\n\n", true, ""},
		{"300 with a Location", "HTTP/1.1 300 Multiple Choices\r\nLocation: /a\r\nContent-Length: 0\r\n\r\n", true, "HTTP 300: redirect to another host not followed: /a"},
		{"302 without a Location", "HTTP/1.1 302 Found\r\nContent-Length: 0\r\n\r\n", true, ""},
		{"garbage", "hello there\r\n\r\n", false, "malformed HTTP"},
		{"bad status code", "HTTP/1.1 2x0 OK\r\n\r\n", false, "malformed HTTP status code"},
		{"closed before a response", "", false, "connection closed before a response"},
		{"closed in the status line", "HTTP/1.1 200", false, "unexpected EOF"},
		{"closed in the header", "HTTP/1.1 200 OK\r\nContent-Le", false, "malformed MIME header"},
		{"body shorter than its length", "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nshort", false, "HTTP 200, reading the body: unexpected EOF"},
		{"bad chunk", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", false, "HTTP 200, reading the body"},
		{"header over the limit", "HTTP/1.1 200 OK\r\nX-Big: " + strings.Repeat("x", 70<<10) + "\r\n\r\n", false, "response header over 64 KiB"},
		{"header under the limit", "HTTP/1.1 200 OK\r\nX-Big: " + strings.Repeat("x", 60<<10) + "\r\nContent-Length: 0\r\n\r\n", true, ""},
		{"status line over the limit", "HTTP/1.1 200 " + strings.Repeat("x", 100<<10), false, "response header over 64 KiB"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			port := rawServer(t, answer(tt.response))
			res, _ := runProbe(NewHTTP(&v1alpha1.HTTPGetAction{Path: "/healthz"}, port), 5*time.Second)
			if res.OK != tt.ok || (tt.msg == "" && res.Msg != "") || !strings.Contains(res.Msg, tt.msg) {
				t.Errorf("result %+v, want ok=%v with message %q", res, tt.ok, tt.msg)
			}
		})
	}
}

// The request as it goes on the wire: one GET, HTTP/1.1, the Host, the
// default User-Agent and Accept, Connection: close, no body.
func TestHTTPProbe_Request(t *testing.T) {
	heads := make(chan string, 1)
	port := rawServer(t, func(c net.Conn, head string) {
		heads <- head
		c.Write([]byte("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"))
	})
	res, _ := runProbe(NewHTTP(&v1alpha1.HTTPGetAction{Path: "/a b/c?x=1&y=2", HTTPHeaders: []v1alpha1.HTTPHeader{
		{Name: "x-lower", Value: "v"}, {Name: "Connection", Value: "keep-alive"}, {Name: "Content-Length", Value: "5"},
	}}, port), 5*time.Second)
	if !res.OK {
		t.Fatalf("probe failed: %s", res.Msg)
	}
	want := "GET /a%20b/c?x=1&y=2 HTTP/1.1\r\nHost: 127.0.0.1:" + strconv.Itoa(port) + "\r\n" +
		"User-Agent: proclet-probe\r\nAccept: */*\r\nX-Lower: v\r\nConnection: close\r\n\r\n"
	if got := <-heads; got != want {
		t.Errorf("request\n%q\nwant\n%q", got, want)
	}
}

// A header that would break the request fails every run, without a
// connection.
func TestHTTPProbe_InvalidHeaders(t *testing.T) {
	var hits atomic.Int32
	port := rawServer(t, func(net.Conn, string) { hits.Add(1) })
	for _, h := range []v1alpha1.HTTPHeader{
		{Name: "X-Bad", Value: "a\r\nInjected: 1"},
		{Name: "Bad Name", Value: "v"},
		{Name: "", Value: "v"},
		{Name: "Host", Value: "a\nb"},
	} {
		res, _ := runProbe(NewHTTP(&v1alpha1.HTTPGetAction{Path: "/", HTTPHeaders: []v1alpha1.HTTPHeader{h}}, port), 2*time.Second)
		if res.OK || !strings.Contains(res.Msg, "invalid") {
			t.Errorf("header %q: %q: result %+v, want an invalid header failure", h.Name, h.Value, res)
		}
	}
	if n := hits.Load(); n != 0 {
		t.Errorf("%d requests reached the server", n)
	}
}

// A server that sends part of a response and stalls: the probe fails at
// its timeout, whether the status line or the body is missing.
func TestHTTPProbe_StalledResponseTimesOut(t *testing.T) {
	for _, partial := range []string{"HTTP/1.1 200 OK\r\n", "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc"} {
		release := make(chan struct{})
		port := rawServer(t, func(c net.Conn, _ string) {
			c.Write([]byte(partial))
			<-release
		})
		res, took := runProbe(NewHTTP(&v1alpha1.HTTPGetAction{Path: "/"}, port), 300*time.Millisecond)
		close(release)
		if res.OK || !strings.Contains(res.Msg, "context deadline exceeded") {
			t.Errorf("after %q: result %+v, want a timeout failure", partial, res)
		}
		if took < 300*time.Millisecond || took > 2*time.Second {
			t.Errorf("after %q: took %v, want the timeout (300ms)", partial, took)
		}
	}
}

// Cancelling the run (Stop) ends a probe waiting on a silent server at
// once.
func TestHTTPProbe_CancelEndsTheRun(t *testing.T) {
	accepted := make(chan struct{})
	release := make(chan struct{})
	port := rawServer(t, func(net.Conn, string) {
		close(accepted)
		<-release
	})
	defer close(release)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	done := make(chan Result, 1)
	go func() { done <- NewHTTP(&v1alpha1.HTTPGetAction{Path: "/"}, port).Probe(ctx) }()
	<-accepted
	cancel()
	select {
	case res := <-done:
		if res.OK || !strings.Contains(res.Msg, "context canceled") {
			t.Errorf("result %+v, want a cancelled failure", res)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the probe goes on after its context was cancelled")
	}
}

// Redirects as net/http's client follows them: a custom Host survives a
// relative redirect only, each hop names the last in Referer, another port
// of the same host is the same host, and http may go to https.
func TestHTTPProbe_RedirectDetails(t *testing.T) {
	type hit struct{ path, host, referer string }
	hits := make(chan hit, 16)
	tlsSrv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits <- hit{r.URL.Path, r.Host, r.Header.Get("Referer")}
	}))
	defer tlsSrv.Close()
	tlsPort := serverPort(t, tlsSrv)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits <- hit{r.URL.Path, r.Host, r.Header.Get("Referer")}
		switch r.URL.Path {
		case "/start":
			http.Redirect(w, r, "/relative", http.StatusMovedPermanently)
		case "/relative":
			self := r.Context().Value(http.LocalAddrContextKey).(net.Addr).String()
			w.Header().Set("Location", "http://"+self+"/absolute")
			w.WriteHeader(http.StatusTemporaryRedirect)
		case "/absolute":
			w.Header().Set("Location", "https://127.0.0.1:"+strconv.Itoa(tlsPort)+"/secure")
			w.WriteHeader(http.StatusPermanentRedirect)
		}
	}))
	defer srv.Close()
	port := serverPort(t, srv)
	p := NewHTTP(&v1alpha1.HTTPGetAction{Path: "/start", HTTPHeaders: []v1alpha1.HTTPHeader{{Name: "Host", Value: "web.example"}}}, port)
	if res, _ := runProbe(p, 5*time.Second); !res.OK || res.Msg != "" {
		t.Fatalf("result %+v, want a success", res)
	}
	base := "http://127.0.0.1:" + strconv.Itoa(port)
	want := []hit{
		{"/start", "web.example", ""},
		{"/relative", "web.example", base + "/start"},
		{"/absolute", "127.0.0.1:" + strconv.Itoa(port), base + "/relative"},
		{"/secure", "127.0.0.1:" + strconv.Itoa(tlsPort), base + "/absolute"},
	}
	for i, w := range want {
		select {
		case got := <-hits:
			if got != w {
				t.Errorf("request %d: %+v, want %+v", i, got, w)
			}
		default:
			t.Fatalf("request %d (%s) never came", i, w.path)
		}
	}
}

// An httpGet probe is built once per instance and held while it runs:
// what it holds is the daemon's memory per probed instance. A default
// probe shares its header lines and its dialer with every other.
func TestNewHTTP_HeldBytesPerProbe(t *testing.T) {
	heapAlloc := func() uint64 {
		goruntime.GC()
		var m goruntime.MemStats
		goruntime.ReadMemStats(&m)
		return m.HeapAlloc
	}
	const n = 1000
	held := make([]*httpProbe, 0, n)
	a := &v1alpha1.HTTPGetAction{Path: "/healthz"}
	before := heapAlloc()
	for i := range n {
		held = append(held, NewHTTP(a, 20000+i))
	}
	if per := (heapAlloc() - before) / n; per > 600 {
		t.Errorf("%d bytes held per httpGet probe, want at most 600", per)
	}
	goruntime.KeepAlive(held)
}
