package server

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// testCA is a self-signed CA that issues localhost certificates.
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pem  []byte
}

func newTestCA(t *testing.T) *testCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	return &testCA{cert: cert, key: key, pem: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})}
}

// issue writes a certificate for 127.0.0.1 and localhost with serial,
// and its key, to certFile and keyFile (each replaced by a rename).
func (ca *testCA) issue(t *testing.T, serial int64, certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: "proclet"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		DNSNames: []string{"localhost"}, IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, KeyUsage: x509.KeyUsageDigitalSignature}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	replaceFile(t, certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
	replaceFile(t, keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}))
}

func replaceFile(t *testing.T, path string, b []byte) {
	t.Helper()
	if err := os.WriteFile(path+".tmp", b, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(path+".tmp", path); err != nil {
		t.Fatal(err)
	}
}

// handshakeSerial connects to addr trusting only ca and returns the
// serial of the certificate the server presented.
func handshakeSerial(t *testing.T, addr string, ca []byte) int64 {
	t.Helper()
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(ca)
	conn, err := tls.Dial("tcp", addr, &tls.Config{RootCAs: pool, ServerName: "127.0.0.1"})
	if err != nil {
		t.Fatalf("handshake: %v", err)
	}
	defer conn.Close()
	return conn.ConnectionState().PeerCertificates[0].SerialNumber.Int64()
}

// TestServer_TLSRotation serves HTTPS from a certificate pair, picks up a
// new pair written over the files at the next handshake, and keeps
// serving the last good pair when a broken one is written.
func TestServer_TLSRotation(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	ca := newTestCA(t)
	ca.issue(t, 100, certFile, keyFile)
	logs := &lockedBuffer{}
	reloader, err := NewCertReloader(certFile, keyFile, slog.New(slog.NewTextHandler(logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	s := New(Options{Status: newFake(), TLS: reloader.TLSConfig()})
	ctx, cancel := context.WithCancel(t.Context())
	addrc, done := make(chan string, 1), make(chan error, 1)
	go func() { done <- s.Run(ctx, "127.0.0.1:0", func(a net.Addr) { addrc <- a.String() }) }()
	defer func() { cancel(); <-done }()
	addr := <-addrc

	if got := handshakeSerial(t, addr, ca.pem); got != 100 {
		t.Fatalf("serial %d, want 100", got)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(ca.pem)
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	resp, err := hc.Get("https://" + addr + "/healthz")
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /healthz over TLS: %v %v", resp, err)
	}
	resp.Body.Close()
	hc.CloseIdleConnections()

	ca.issue(t, 101, certFile, keyFile)
	if got := handshakeSerial(t, addr, ca.pem); got != 101 {
		t.Fatalf("after rotation: serial %d, want 101", got)
	}

	replaceFile(t, certFile, []byte("-----BEGIN CERTIFICATE-----\nbroken\n-----END CERTIFICATE-----\n"))
	if got := handshakeSerial(t, addr, ca.pem); got != 101 {
		t.Fatalf("after a broken pair: serial %d, want the last good 101", got)
	}
	if reloader.LastError() == nil || !strings.Contains(logs.String(), "new TLS certificate not loaded") {
		t.Errorf("broken pair: LastError %v, logs %s", reloader.LastError(), logs)
	}
	ca.issue(t, 102, certFile, keyFile)
	if got := handshakeSerial(t, addr, ca.pem); got != 102 || reloader.LastError() != nil {
		t.Fatalf("fixed: serial %d, LastError %v; want 102, nil", got, reloader.LastError())
	}
}

// TestNewCertReloader_RefusesABrokenPair names the files.
func TestNewCertReloader_RefusesABrokenPair(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	if _, err := NewCertReloader(certFile, keyFile, nil); err == nil {
		t.Fatal("missing files: no error")
	}
	ca := newTestCA(t)
	ca.issue(t, 1, certFile, keyFile)
	other := filepath.Join(dir, "other.key")
	ca.issue(t, 2, filepath.Join(dir, "other.crt"), other)
	_, err := NewCertReloader(certFile, other, nil)
	if err == nil || !strings.Contains(err.Error(), "--tls-cert-file "+certFile) {
		t.Fatalf("mismatched key: %v", err)
	}
}

// lockedBuffer is a bytes.Buffer a logger writes from other goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestConnLimiter_TLSConnectionsGoIdle: the server reports the states of
// the TLS connections it serves, not of the sockets the limiter counts:
// an idle TLS connection is one, so that it makes room at the caps.
func TestConnLimiter_TLSConnectionsGoIdle(t *testing.T) {
	l := newConnLimiter(nil, 2, 2, slog.New(slog.DiscardHandler), &connStats{})
	server, client := net.Pipe()
	defer client.Close()
	c, _, why := l.admit(server, netip.MustParseAddr("10.0.0.1"))
	if c == nil {
		t.Fatal(why)
	}
	l.connState(tls.Server(c, &tls.Config{}), http.StateIdle)
	if l.oldestIdle(netip.MustParseAddr("10.0.0.1"), true) != c {
		t.Fatal("an idle TLS connection is not idle to the limiter")
	}
}

// TestCertReloader_OnError: a change of the files that does not load is
// told to OnError once, not at every handshake after it.
func TestCertReloader_OnError(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	newTestCA(t).issue(t, 5, certFile, keyFile)
	reloader, err := NewCertReloader(certFile, keyFile, nil)
	if err != nil {
		t.Fatal(err)
	}
	var told []error
	reloader.OnError = func(err error) { told = append(told, err) }
	replaceFile(t, keyFile, []byte("not a key"))
	for range 3 {
		cert, err := reloader.GetCertificate(nil)
		if err != nil || cert.Leaf.SerialNumber.Int64() != 5 {
			t.Fatalf("serving %v, %v; want the last good serial 5", cert, err)
		}
	}
	if len(told) != 1 || !strings.Contains(told[0].Error(), "--tls-key-file "+keyFile) {
		t.Errorf("OnError got %v, want one error naming the key file", told)
	}
}
