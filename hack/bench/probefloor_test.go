package main

import (
	"context"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"proclet.dev/proclet/apis/v1alpha1"
	"proclet.dev/proclet/runtime/probe"
)

// listen is a server on loopback answering every request with h.
func listen(t *testing.T, h http.HandlerFunc) (int, net.Listener) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: h}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().(*net.TCPAddr).Port, ln
}

// The floor sends the daemon's request, byte for byte: the same probes.
func TestProbeFloor_SameRequestAsTheDaemon(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	port := ln.Addr().(*net.TCPAddr).Port
	got := make(chan string, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			got <- err.Error()
			return
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(5 * time.Second))
		var head []byte
		buf := make([]byte, 4096)
		for !strings.Contains(string(head), "\r\n\r\n") {
			n, err := c.Read(buf)
			head = append(head, buf[:n]...)
			if err != nil {
				break
			}
		}
		got <- string(head)
		c.Write([]byte("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"))
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	probe.NewHTTP(&v1alpha1.HTTPGetAction{Path: "/healthz"}, port).Probe(ctx)
	if daemon, floor := <-got, string(probeFloorRequest(port)); daemon != floor {
		t.Errorf("the daemon sends %q, the floor %q", daemon, floor)
	}
}

// runFloor probes port once with the floor's prober and returns its
// counts once the run is over.
func runFloor(t *testing.T, port int) (ok, bad int) {
	t.Helper()
	p, err := newProber(port, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer p.file.Close()
	p.start(0)
	for deadline := time.Now().Add(5 * time.Second); p.ok+p.bad == 0 && time.Now().Before(deadline); {
		p.wait(time.Now().Add(50 * time.Millisecond))
	}
	return p.ok, p.bad
}

// The floor reads whole answers: a 2xx or 3xx to its Content-Length (or
// the close) is one answered probe, anything else a failure.
func TestProbeFloor_CountsAnswers(t *testing.T) {
	okPort, _ := listen(t, func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte("ok")) })
	failPort, _ := listen(t, func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusServiceUnavailable) })
	_, closed := listen(t, func(http.ResponseWriter, *http.Request) {})
	closedPort := closed.Addr().(*net.TCPAddr).Port
	closed.Close()
	for _, c := range []struct {
		name    string
		port    int
		ok, bad int
	}{{"200", okPort, 1, 0}, {"503", failPort, 0, 1}, {"refused", closedPort, 0, 1}} {
		if ok, bad := runFloor(t, c.port); ok != c.ok || bad != c.bad {
			t.Errorf("%s: ok=%d failed=%d, want ok=%d failed=%d", c.name, ok, bad, c.ok, c.bad)
		}
	}
}

func TestProbeFloor_Complete(t *testing.T) {
	for _, c := range []struct {
		resp string
		eof  bool
		want bool
	}{
		{"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", false, true},
		{"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\no", false, false},
		{"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\no", true, false},
		{"HTTP/1.1 302 Found\r\nContent-Length: 0\r\n\r\n", false, true},
		{"HTTP/1.0 200 OK\r\n\r\nuntil the close", false, false},
		{"HTTP/1.0 200 OK\r\n\r\nuntil the close", true, true},
		{"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n", false, false},
		{"HTTP/1.1 200 OK\r\nContent-Le", true, false},
	} {
		if got := complete([]byte(c.resp), c.eof); got != c.want {
			t.Errorf("complete(%q, eof %v) = %v, want %v", c.resp, c.eof, got, c.want)
		}
	}
}

func TestProberSpec(t *testing.T) {
	if first, n, err := parseProberSpec("21000,1000"); err != nil || first != 21000 || n != 1000 {
		t.Errorf("21000,1000: %d, %d, %v", first, n, err)
	}
	for _, bad := range []string{"", "21000", "x,1", "65000,1000", "0,1", "1,0"} {
		if _, _, err := parseProberSpec(bad); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}
