package server

import (
	"bytes"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"proclet.dev/proclet/internal/hostile"
)

const (
	goodKey  = "s3cr3t-key-one"
	goodKey2 = "another-key"
)

func withHeader(t *testing.T, h http.Handler, path, name, value string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest("GET", path, nil)
	if name != "" {
		req.Header.Set(name, value)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func assertUnauthorized(t *testing.T, rec *httptest.ResponseRecorder, what string) {
	t.Helper()
	const want = `{"error":{"code":"Unauthorized","message":"unauthorized"}}`
	body := strings.Join(strings.Fields(rec.Body.String()), "")
	if rec.Code != http.StatusUnauthorized || body != want || rec.Header().Get("WWW-Authenticate") != "Bearer" {
		t.Errorf("%s: %d %q WWW-Authenticate=%q", what, rec.Code, body, rec.Header().Get("WWW-Authenticate"))
	}
}

func TestAuth_HeaderForms(t *testing.T) {
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	s := New(Options{Status: newFake(), APIKeys: []string{goodKey, goodKey2}, Log: log})
	forms := []struct{ header, prefix string }{
		{"Authorization", "Bearer "},
		{"Authorization", "ApiKey "},
		{"Authorization", "bearer "},
		{"X-API-Key", ""},
	}
	for _, f := range forms {
		for _, p := range []string{"/api/v1/apps", "/api/v1/apps/web/instances", "/api/v1/nope"} {
			assertUnauthorized(t, withHeader(t, s, p, f.header, f.prefix+"wrong-key"), f.header+" "+f.prefix+"wrong "+p)
			assertUnauthorized(t, withHeader(t, s, p, f.header, f.prefix+goodKey+"x"), "key with a suffix")
			assertUnauthorized(t, withHeader(t, s, p, f.header, f.prefix), "empty key")
		}
		for _, k := range []string{goodKey, goodKey2} {
			if rec := withHeader(t, s, "/api/v1/apps", f.header, f.prefix+k); rec.Code != http.StatusOK {
				t.Errorf("%s %s<right key>: %d %s", f.header, f.prefix, rec.Code, rec.Body)
			}
		}
	}
	assertUnauthorized(t, withHeader(t, s, "/api/v1/apps", "", ""), "no key")
	assertUnauthorized(t, withHeader(t, s, "/api/v1/apps", "Authorization", "Basic "+goodKey), "unknown scheme")
	assertUnauthorized(t, withHeader(t, s, "/api/v1/apps", "Authorization", goodKey), "no scheme")
	if rec := withHeader(t, s, "/api/v1/apps/nope", "X-API-Key", goodKey); rec.Code != http.StatusNotFound {
		t.Errorf("authenticated 404: %d", rec.Code)
	}
	if strings.Contains(logs.String(), goodKey) || strings.Contains(logs.String(), "wrong-key") {
		t.Errorf("a key reached the log:\n%s", logs.String())
	}
}

func TestAuth_OpenPaths(t *testing.T) {
	for _, public := range []bool{false, true} {
		s := New(Options{Status: newFake(), APIKeys: []string{goodKey}, Metrics: okHandler("metrics\n"), MetricsPublic: public})
		for _, p := range []string{"/healthz", "/readyz"} {
			if rec := withHeader(t, s, p, "", ""); rec.Code != http.StatusOK {
				t.Errorf("%s without a key: %d", p, rec.Code)
			}
			if rec := withHeader(t, s, p, "X-API-Key", "wrong"); rec.Code != http.StatusOK {
				t.Errorf("%s with a wrong key: %d", p, rec.Code)
			}
		}
		rec := withHeader(t, s, "/metrics", "", "")
		if public && (rec.Code != http.StatusOK || rec.Body.String() != "metrics\n") {
			t.Errorf("public /metrics: %d %s", rec.Code, rec.Body)
		}
		if !public {
			assertUnauthorized(t, rec, "private /metrics without a key")
			if rec := withHeader(t, s, "/metrics", "Authorization", "Bearer "+goodKey); rec.Code != http.StatusOK {
				t.Errorf("private /metrics with a key: %d", rec.Code)
			}
		}
	}
	if rec := get(t, New(Options{Status: newFake()}), "GET", "/metrics"); rec.Code != http.StatusNotFound {
		t.Errorf("/metrics without a Metrics handler: %d, want 404", rec.Code)
	}
}

func TestAuth_NoKeysNoAuth(t *testing.T) {
	s := New(Options{Status: newFake(), APIKeys: []string{"", "  "}})
	if rec := get(t, s, "GET", "/api/v1/apps"); rec.Code != http.StatusOK {
		t.Errorf("blank keys only: %d", rec.Code)
	}
}

func TestLoadAPIKeys(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "keys")
	content := "# proclet keys\n\n  key-one  \r\nkey-two\n\t# indented comment\nkey three with spaces\n"
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	keys, err := LoadAPIKeys(path)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"key-one", "key-two", "key three with spaces"}; !reflect.DeepEqual(keys, want) {
		t.Errorf("keys %q, want %q", keys, want)
	}

	empty := filepath.Join(dir, "empty")
	if err := os.WriteFile(empty, []byte("# nothing\n\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadAPIKeys(empty); err == nil {
		t.Error("a file without keys loaded")
	}
	if _, err := LoadAPIKeys(filepath.Join(dir, "missing")); err == nil {
		t.Error("a missing file loaded")
	}
}

func TestKeyring(t *testing.T) {
	kr := newKeyring([]string{"a", "bb"})
	for k, want := range map[string]bool{"a": true, "bb": true, "": false, "b": false, "aa": false, "bbb": false} {
		if got := kr.valid(k); got != want {
			t.Errorf("valid(%q) = %v", k, got)
		}
	}
}

// TestLoadAPIKeys_HostileFile: a key file that is a sparse 4 GiB file, a
// link to /dev/zero, a FIFO or a folder is an error naming it at once, not
// a daemon that hangs or runs out of memory at its start.
func TestLoadAPIKeys_HostileFile(t *testing.T) {
	for _, c := range hostile.Cases() {
		t.Run(c.Name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "keys")
			c.Make(t, path)
			done := make(chan error, 1)
			go func() { _, err := LoadAPIKeys(path); done <- err }()
			select {
			case err := <-done:
				if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), c.Says) {
					t.Fatalf("err %v; want one naming %s and saying %q", err, path, c.Says)
				}
			case <-time.After(20 * time.Second):
				t.Fatal("LoadAPIKeys still reading after 20 s")
			}
		})
	}
	// Under the bound, many keys load.
	path := filepath.Join(t.TempDir(), "keys")
	if err := os.WriteFile(path, bytes.Repeat([]byte("0123456789abcdef0123456789abcdef\n"), 30000), 0o600); err != nil {
		t.Fatal(err)
	}
	if keys, err := LoadAPIKeys(path); err != nil || len(keys) != 30000 {
		t.Fatalf("30000 keys: %d, %v", len(keys), err)
	}
}
