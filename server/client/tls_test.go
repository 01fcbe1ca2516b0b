package client

import (
	"encoding/pem"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestClient_WithCACertFile: an https:// daemon is trusted through the
// CA file given, not without it; an unreadable or empty file fails every
// request with an error naming --cacert.
func TestClient_WithCACertFile(t *testing.T) {
	srv := httptest.NewTLSServer(jsonAnswer(`{"items":[]}`))
	t.Cleanup(srv.Close)
	dir := t.TempDir()
	ca := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := New(srv.URL, "").WithCACertFile(ca).Apps(t.Context()); err != nil {
		t.Fatalf("with the CA: %v", err)
	}
	if _, err := New(srv.URL, "").Apps(t.Context()); err == nil || !strings.Contains(err.Error(), "unknown authority: give the CA's certificate with --cacert") {
		t.Fatalf("without the CA: %v, want an unknown authority naming --cacert", err)
	}
	plain := httptest.NewServer(jsonAnswer(`{"items":[]}`))
	t.Cleanup(plain.Close)
	https := strings.Replace(plain.URL, "http://", "https://", 1)
	if _, err := New(https, "").WithCACertFile(ca).Apps(t.Context()); err == nil || !strings.Contains(err.Error(), "does not speak TLS") {
		t.Errorf("https:// to a plain daemon: %v", err)
	}
	empty := filepath.Join(dir, "empty.pem")
	if err := os.WriteFile(empty, []byte("nothing"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{filepath.Join(dir, "missing.pem"), empty} {
		_, err := New(srv.URL, "").WithCACertFile(f).Apps(t.Context())
		if err == nil || !strings.Contains(err.Error(), "--cacert") {
			t.Errorf("%s: %v, want an error naming --cacert", f, err)
		}
	}
}
