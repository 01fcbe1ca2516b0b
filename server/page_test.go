package server

import (
	"context"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"proclet.dev/proclet/server/ui"
)

// The page and its assets need no key (the page must load to ask for
// one, and holds no data); the API behind it still does, and a path under
// /ui/ that is not an asset is refused like any other.
func TestPage_ServedWithoutKey_APIStillNeedsOne(t *testing.T) {
	s := New(Options{Status: newFake(), APIKeys: []string{goodKey}})
	for path, ct := range map[string]string{"/": "text/html; charset=utf-8", "/ui/app.js": "text/javascript; charset=utf-8", "/ui/style.css": "text/css; charset=utf-8"} {
		rec := withHeader(t, s, path, "", "")
		h := rec.Header()
		if rec.Code != http.StatusOK || h.Get("Content-Type") != ct || h.Get("Content-Security-Policy") != ui.ContentSecurityPolicy ||
			h.Get("X-Content-Type-Options") != "nosniff" || h.Get("Cache-Control") != "no-store" {
			t.Errorf("GET %s without a key: %d %v", path, rec.Code, h)
		}
	}
	for _, path := range []string{"/api/v1/apps", "/api/v1/instances", "/api/v1/events", "/ui/nope.js", "/index.html"} {
		assertUnauthorized(t, withHeader(t, s, path, "", ""), path+" without a key")
	}
	if rec := withHeader(t, s, "/api/v1/apps", "Authorization", "Bearer "+goodKey); rec.Code != http.StatusOK {
		t.Errorf("apps with the key: %d", rec.Code)
	}
}

// The page is read-only like the API, and keyless: a POST is 405.
func TestPage_OnlyGetAndHead(t *testing.T) {
	s := New(Options{Status: newFake()})
	for _, m := range []string{http.MethodPost, http.MethodPut, http.MethodDelete} {
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, httptest.NewRequest(m, "/", nil))
		if rec.Code != http.StatusMethodNotAllowed {
			t.Errorf("%s /: %d", m, rec.Code)
		}
	}
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, httptest.NewRequest(http.MethodHead, "/ui/app.js", nil))
	if rec.Code != http.StatusOK || rec.Body.Len() != 0 {
		t.Errorf("HEAD /ui/app.js: %d, %d bytes", rec.Code, rec.Body.Len())
	}
}

// The page gets the same Host check as the API: a DNS-rebinding page
// cannot load it under a foreign name either.
func TestPage_ForeignHostRefused(t *testing.T) {
	s := New(Options{Status: newFake()})
	s.hosts.Store(newHostPolicy(true, nil))
	for host, want := range map[string]int{"attacker.example:9090": http.StatusForbidden, "localhost:9090": http.StatusOK, "127.0.0.1:9090": http.StatusOK} {
		req := httptest.NewRequest(http.MethodGet, "/", nil)
		req.Host = host
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, req)
		if rec.Code != want {
			t.Errorf("GET / with Host %s: %d, want %d", host, rec.Code, want)
		}
	}
}

func keyProtocol(key string) string {
	return "proclet.key." + base64.RawURLEncoding.EncodeToString([]byte(key))
}

// A browser cannot set a header on a WebSocket: the watch takes the key
// as a subprotocol, and answers with proclet.v1, never the key's.
func TestWatch_KeyAsSubprotocol(t *testing.T) {
	f := newWatchFixture(t, Options{APIKeys: []string{goodKey}})
	url := "ws" + strings.TrimPrefix(f.srv.URL, "http") + "/api/v1/watch"
	dial := func(protocols ...string) (*websocket.Conn, int, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		c, resp, err := websocket.Dial(ctx, url, &websocket.DialOptions{Subprotocols: protocols})
		status := 0
		if resp != nil {
			status = resp.StatusCode
		}
		if c != nil {
			t.Cleanup(func() { c.CloseNow() })
		}
		return c, status, err
	}
	c, _, err := dial(WatchProtocol, keyProtocol(goodKey))
	if err != nil {
		t.Fatalf("dial with the key as a subprotocol: %v", err)
	}
	if c.Subprotocol() != WatchProtocol {
		t.Errorf("selected subprotocol %q, want %q", c.Subprotocol(), WatchProtocol)
	}
	for name, protos := range map[string][]string{
		"no key":        {WatchProtocol},
		"wrong key":     {WatchProtocol, keyProtocol("wrong")},
		"not base64url": {WatchProtocol, "proclet.key.!!"},
		"raw key":       {WatchProtocol, "proclet.key." + goodKey},
	} {
		if _, status, err := dial(protos...); err == nil || status != http.StatusUnauthorized {
			t.Errorf("%s: status %d, err %v; want 401", name, status, err)
		}
	}
	// Only the watch takes a key this way.
	req, _ := http.NewRequest(http.MethodGet, f.srv.URL+"/api/v1/apps", nil)
	req.Header.Set("Sec-WebSocket-Protocol", keyProtocol(goodKey))
	req.Header.Set("Upgrade", "websocket")
	req.Header.Set("Connection", "Upgrade")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("apps with the key as a subprotocol: %d, want 401", resp.StatusCode)
	}
}
