package server

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// runServer serves s on a real socket at addr ("127.0.0.1:0") until the
// test ends, and returns the bound address.
func runServer(t *testing.T, s *Server, addr string) string {
	t.Helper()
	ctx, stop := context.WithCancel(context.Background())
	addrc := make(chan net.Addr, 1)
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx, addr, func(a net.Addr) { addrc <- a }) }()
	t.Cleanup(func() {
		stop()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			t.Error("Run did not return")
		}
	})
	select {
	case a := <-addrc:
		return a.String()
	case err := <-done:
		t.Fatalf("Run: %v", err)
	}
	return ""
}

// rawGet sends one GET with the given Host header (and header lines) on a
// new connection and reads the answer; the connection stays open for the
// caller, who closes it.
func rawGet(t *testing.T, addr, host, path string, lines ...string) (*http.Response, net.Conn, *bufio.Reader) {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	_ = c.SetDeadline(time.Now().Add(20 * time.Second))
	req := "GET " + path + " HTTP/1.1\r\nHost: " + host + "\r\n"
	for _, l := range lines {
		req += l + "\r\n"
	}
	if _, err := io.WriteString(c, req+"\r\n"); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("GET %s Host %q: %v", path, host, err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body = io.NopCloser(strings.NewReader(string(body)))
	return resp, c, br
}

// assertClosedByServer reads until the server closes the connection.
func assertClosedByServer(t *testing.T, what string, c net.Conn, br *bufio.Reader) {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if n, err := br.Read(make([]byte, 1)); err == nil || errors.Is(err, context.DeadlineExceeded) || isTimeout(err) {
		t.Errorf("%s: the server kept the connection open (%d bytes, %v)", what, n, err)
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

func TestHost_LoopbackListenerAnswersOnlyLocalNames(t *testing.T) {
	s := New(Options{Status: newFake(), AllowedHosts: []string{"Proclet.Internal"}})
	addr := runServer(t, s, "127.0.0.1:0")
	_, port, _ := net.SplitHostPort(addr)
	for _, host := range []string{"localhost:" + port, "127.0.0.1:" + port, "localhost", "LocalHost.:" + port,
		"127.0.0.2:" + port, "[::1]:" + port, "proclet.internal:8080", "PROCLET.internal"} {
		resp, _, _ := rawGet(t, addr, host, "/api/v1/apps")
		if resp.StatusCode != http.StatusOK {
			t.Errorf("Host %q: %d, want 200", host, resp.StatusCode)
		}
	}
	for _, host := range []string{"attacker.example:" + port, "attacker.example", "localhost.attacker.example:" + port,
		"127.0.0.1.nip.io:" + port, "10.1.2.3:" + port, "proclet.internal.evil:" + port} {
		for _, path := range []string{"/api/v1/apps", "/healthz", "/api/v1/watch"} {
			resp, c, br := rawGet(t, addr, host, path)
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != http.StatusForbidden || !strings.Contains(string(body), `"code": "Forbidden"`) ||
				!strings.Contains(string(body), "--allowed-host") || strings.Contains(string(body), "web") {
				t.Errorf("Host %q %s: %d %s, want 403 naming --allowed-host", host, path, resp.StatusCode, body)
			}
			if !resp.Close { // ReadResponse takes Connection: close out of the header into Close

				t.Errorf("Host %q: no Connection: close on the 403", host)
			}
			assertClosedByServer(t, "after a 403 for Host "+host, c, br)
		}
	}
}

func TestHost_PolicyBeyondLoopback(t *testing.T) {
	open := newHostPolicy(false, nil)
	for _, h := range []string{"attacker.example:9090", "10.0.0.5:9090", "dash.example"} {
		if !open.allowedHost(h) {
			t.Errorf("beyond loopback without --allowed-host, Host %q refused: the keys are the defence there", h)
		}
	}
	named := newHostPolicy(false, []string{"proclet.example.com"})
	for h, want := range map[string]bool{"proclet.example.com:443": true, "10.0.0.5:9090": true, "[2001:db8::1]:9090": true,
		"localhost:9090": true, "attacker.example:9090": false, "example.com": false} {
		if got := named.allowedHost(h); got != want {
			t.Errorf("with --allowed-host, Host %q allowed=%v, want %v", h, got, want)
		}
	}
}

func TestWatch_OriginChecked(t *testing.T) {
	s := New(Options{Status: newFake(), AllowedHosts: []string{"dash.internal"}})
	addr := runServer(t, s, "127.0.0.1:0")
	url := "ws://" + addr + "/api/v1/watch"
	dial := func(origin string) (int, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		var h http.Header
		if origin != "" {
			h = http.Header{"Origin": {origin}}
		}
		c, resp, err := websocket.Dial(ctx, url, &websocket.DialOptions{HTTPHeader: h})
		if err != nil {
			if resp == nil {
				return 0, err
			}
			return resp.StatusCode, err
		}
		defer c.CloseNow()
		if _, _, err := c.Read(ctx); err != nil { // the first ADDED
			return 0, err
		}
		return http.StatusSwitchingProtocols, nil
	}
	for _, origin := range []string{"", "http://" + addr, "http://localhost:3000", "http://127.0.0.1:8080", "https://dash.internal"} {
		if code, err := dial(origin); code != http.StatusSwitchingProtocols {
			t.Errorf("Origin %q: %d %v, want the watch", origin, code, err)
		}
	}
	for _, origin := range []string{"http://attacker.example", "http://attacker.example:" + strings.Split(addr, ":")[1], "null",
		"http://localhost.attacker.example"} {
		if code, _ := dial(origin); code != http.StatusForbidden {
			t.Errorf("Origin %q: %d, want 403", origin, code)
		}
	}
}

func TestAuth_UnauthorizedClosesTheConnection(t *testing.T) {
	s := New(Options{Status: newFake(), APIKeys: []string{goodKey}})
	addr := runServer(t, s, "127.0.0.1:0")
	resp, c, br := rawGet(t, addr, addr, "/api/v1/apps")
	if resp.StatusCode != http.StatusUnauthorized || !resp.Close {
		t.Fatalf("no key: %d Connection: close=%v, want 401 and close", resp.StatusCode, resp.Close)
	}
	assertClosedByServer(t, "after a 401", c, br)
	// With the key, the connection is kept alive for the next request.
	resp, c, br = rawGet(t, addr, addr, "/api/v1/apps", "Authorization: Bearer "+goodKey)
	if resp.StatusCode != http.StatusOK || resp.Close {
		t.Fatalf("with a key: %d Connection: close=%v", resp.StatusCode, resp.Close)
	}
	if _, err := io.WriteString(c, "GET /healthz HTTP/1.1\r\nHost: "+addr+"\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	if resp, err := http.ReadResponse(br, nil); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("second request on the kept connection: %v %v", resp, err)
	}
}

func TestLocalHostsOnly(t *testing.T) {
	h := LocalHostsOnly(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "profile") }))
	for host, want := range map[string]int{"127.0.0.1:6060": 200, "localhost:6060": 200, "[::1]:6060": 200,
		"attacker.example:6060": 403, "proclet.internal": 403} {
		req := httptest.NewRequest("GET", "/debug/pprof/heap", nil)
		req.Host = host
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != want || (want == 403 && strings.Contains(rec.Body.String(), "profile")) {
			t.Errorf("Host %q: %d %s, want %d", host, rec.Code, rec.Body, want)
		}
	}
}
