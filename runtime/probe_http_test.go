package runtime

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"proclet.dev/proclet/apis/v1alpha1"
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

func runProbe(r probeRunner, timeout time.Duration) (probeResult, time.Duration) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	begin := time.Now()
	res := r.probe(ctx)
	return res, time.Since(begin)
}

// TRAPS 25: 200, 302 to the same host, 302 to another host, 399, 400 and
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
			p := newHTTPProbe(&v1alpha1.HTTPGetAction{Path: tt.path, Scheme: "HTTP"}, port)
			res, _ := runProbe(p, 5*time.Second)
			if res.ok != tt.ok || (tt.msg == "" && res.msg != "") || !strings.Contains(res.msg, tt.msg) {
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
	p := newHTTPProbe(&v1alpha1.HTTPGetAction{Path: "/"}, serverPort(t, srv))
	res, took := runProbe(p, 5*time.Second)
	if !res.ok || took > 2*time.Second {
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
	p := newHTTPProbe(&v1alpha1.HTTPGetAction{Path: "/healthz?verbose=1", HTTPHeaders: []v1alpha1.HTTPHeader{
		{Name: "X-Probe", Value: "a"}, {Name: "X-Probe", Value: "b"}, {Name: "Host", Value: "web.example"}, {Name: "User-Agent", Value: "mine"},
	}}, serverPort(t, srv))
	for range 2 {
		if res, _ := runProbe(p, 5*time.Second); !res.ok {
			t.Fatalf("probe failed: %s", res.msg)
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
	p := newHTTPProbe(&v1alpha1.HTTPGetAction{Path: "/", Scheme: "HTTPS"}, serverPort(t, srv))
	if res, _ := runProbe(p, 5*time.Second); !res.ok {
		t.Errorf("HTTPS probe of a self-signed server failed: %s", res.msg)
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
	p := newHTTPProbe(&v1alpha1.HTTPGetAction{Path: "/"}, ln.Addr().(*net.TCPAddr).Port)
	res, took := runProbe(p, 300*time.Millisecond)
	if res.ok || !strings.Contains(res.msg, "context deadline exceeded") {
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
	res, _ := runProbe(newHTTPProbe(&v1alpha1.HTTPGetAction{Path: "/"}, port), 2*time.Second)
	if res.ok || !strings.Contains(res.msg, "connection refused") {
		t.Errorf("result %+v, want connection refused", res)
	}
}

func TestHTTPProbe_IgnoresProxyEnvironment(t *testing.T) {
	t.Setenv("HTTP_PROXY", "http://127.0.0.1:1")
	t.Setenv("http_proxy", "http://127.0.0.1:1")
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	defer srv.Close()
	if res, _ := runProbe(newHTTPProbe(&v1alpha1.HTTPGetAction{Path: "/"}, serverPort(t, srv)), 2*time.Second); !res.ok {
		t.Errorf("probe went through the proxy: %s", res.msg)
	}
}
