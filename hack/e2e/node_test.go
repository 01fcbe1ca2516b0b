package e2e

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"proclet.dev/proclet/apis/v1alpha1"
)

// e2eCA is a self-signed CA made in the test, issuing 127.0.0.1's certs.
type e2eCA struct {
	cert    *x509.Certificate
	key     *ecdsa.PrivateKey
	pemFile string
}

func newE2ECA(t *testing.T, dir string) *e2eCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "e2e CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	ca := &e2eCA{cert: cert, key: key, pemFile: filepath.Join(dir, "ca.pem")}
	writeFile(t, ca.pemFile, string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})))
	return ca
}

// issue writes a 127.0.0.1 certificate with serial and its key over
// certFile and keyFile (each by a rename, as cert-manager does).
func (ca *e2eCA) issue(t *testing.T, serial int64, certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: "proclet"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		KeyUsage: x509.KeyUsageDigitalSignature}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, certFile, string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})))
	writeFile(t, keyFile, string(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder})))
}

// serialAt is the serial of the certificate a new handshake with addr
// shows, checked against the CA.
func (ca *e2eCA) serialAt(t *testing.T, addr string) int64 {
	t.Helper()
	pool := x509.NewCertPool()
	pool.AddCert(ca.cert)
	conn, err := tls.Dial("tcp", addr, &tls.Config{RootCAs: pool})
	if err != nil {
		t.Fatalf("handshake with %s: %v", addr, err)
	}
	defer conn.Close()
	return conn.ConnectionState().PeerCertificates[0].SerialNumber.Int64()
}

// TestNode_TLS: the daemon serves HTTPS from --tls-cert-file and
// --tls-key-file; the CLI reaches it with --cacert (PROCLET_CACERT) and
// says what is wrong without; a pair written over the files is served
// from the next handshake on, a broken one is a Warning event and the
// last good one is kept.
func TestNode_TLS(t *testing.T) {
	skipShort(t)
	dir, certs := t.TempDir(), t.TempDir()
	writeFile(t, filepath.Join(dir, "web.yaml"), appManifest("web", 1, "--exit-after", "1h"))
	ca := newE2ECA(t, certs)
	certFile, keyFile := filepath.Join(certs, "tls.crt"), filepath.Join(certs, "tls.key")
	ca.issue(t, 1001, certFile, keyFile)
	d := startDaemon(t, dir, "--tls-cert-file", certFile, "--tls-key-file", keyFile)
	addr := strings.TrimPrefix(d.base, "http://")
	d.base = "https://" + addr
	t.Cleanup(func() { stopTLSInstances(t, d, ca) })

	eventually(t, 30*time.Second, "get apps over TLS lists web", func() bool {
		code, out, _ := proclet(t, "get", "apps", "--server", d.base, "--cacert", ca.pemFile)
		return code == 0 && strings.Contains(out, "web ")
	})
	code, _, errOut := proclet(t, "get", "apps", "--server", d.base)
	if code == 0 || !strings.Contains(errOut, "--cacert") {
		t.Errorf("without --cacert: exit %d, stderr %s; want a failure naming --cacert", code, errOut)
	}
	t.Setenv("PROCLET_CACERT", ca.pemFile)
	if code, out, errOut := proclet(t, "get", "apps", "--server", d.base); code != 0 || !strings.Contains(out, "web ") {
		t.Errorf("with PROCLET_CACERT: exit %d\n%s%s", code, out, errOut)
	}

	if got := ca.serialAt(t, addr); got != 1001 {
		t.Fatalf("serial %d, want 1001", got)
	}
	ca.issue(t, 1002, certFile, keyFile)
	if got := ca.serialAt(t, addr); got != 1002 {
		t.Fatalf("after rotation: serial %d, want 1002", got)
	}
	writeFile(t, keyFile, "not a key\n")
	if got := ca.serialAt(t, addr); got != 1002 {
		t.Fatalf("after a broken key: serial %d, want the last good 1002", got)
	}
	eventually(t, 10*time.Second, "the broken pair logged", func() bool {
		return strings.Contains(d.logs.String(), "new TLS certificate not loaded")
	})
	code, out, errOut := proclet(t, "get", "events", "--server", d.base)
	if code != 0 || !strings.Contains(out, "TLSCertificateNotLoaded") || !strings.Contains(out, certFile) {
		t.Errorf("get events: exit %d, want a TLSCertificateNotLoaded warning of %s\n%s%s", code, certFile, out, errOut)
	}
}

// stopTLSInstances records the instances' PIDs over TLS for the cleanup
// to kill, as d.instances does over plain HTTP.
func stopTLSInstances(t *testing.T, d *daemon, ca *e2eCA) {
	pool := x509.NewCertPool()
	pool.AddCert(ca.cert)
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}, Timeout: 10 * time.Second}
	resp, err := hc.Get(d.base + "/api/v1/instances")
	if err != nil {
		t.Logf("instances over TLS: %v", err)
		return
	}
	defer resp.Body.Close()
	var l struct {
		Items []v1alpha1.Instance `json:"items"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&l)
	for _, i := range l.Items {
		if i.PID > 0 {
			seenPIDs.Store(i.PID, true)
		}
	}
}

// TestNode_RefusesRemoteWithoutKeys: a --listen on an address of this
// machine beyond loopback, without --api-key-file, exits non-zero with a
// message naming --insecure-allow-remote, before serving anything.
func TestNode_RefusesRemoteWithoutKeys(t *testing.T) {
	skipShort(t)
	ip := nonLoopbackIP(t)
	code, _, errOut := proclet(t, "run", "--manifests", t.TempDir(), "--state-dir", t.TempDir(),
		"--listen", net.JoinHostPort(ip, "0"))
	if code == 0 || !strings.Contains(errOut, "is not a loopback address and no --api-key-file") ||
		!strings.Contains(errOut, "--insecure-allow-remote") {
		t.Errorf("exit %d, stderr:\n%s", code, errOut)
	}
}

// nonLoopbackIP is an IPv4 address of this machine beyond 127.0.0.0/8,
// or skips the test.
func nonLoopbackIP(t *testing.T) string {
	t.Helper()
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		t.Skipf("no interface addresses: %v", err)
	}
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && n.IP.To4() != nil && !n.IP.IsLoopback() {
			return n.IP.String()
		}
	}
	t.Skip("this machine has no IPv4 address beyond loopback")
	return ""
}

// TestNode_IdentitySourceTargetsNotScheduled: a daemon on a git-sync
// style folder (a link to a worktree named for its commit) reports its
// name, labels, advertise address, folder, resolved target and commit in
// /api/v1/node and its metrics; its targets carry the advertise address
// and a node label; an app whose nodeSelector does not match is listed
// NotScheduled, never started.
func TestNode_IdentitySourceTargetsNotScheduled(t *testing.T) {
	skipShort(t)
	root := t.TempDir()
	commit := "4f1c2a9e8b7d6c5f4e3d2c1b0a9f8e7d6c5b4a39"
	worktree := filepath.Join(root, ".worktrees", commit)
	web := probedApp("web", "23470-23479", 1, 60, "--exit-after", "1h") + "  nodeSelector: {zone: eu}\n"
	gpu := appManifest("gpu", 2, "--exit-after", "1h") + "  nodeSelector: {zone: eu, gpu: \"true\"}\n"
	writeFile(t, filepath.Join(worktree, "web.yaml"), web)
	writeFile(t, filepath.Join(worktree, "gpu.yaml"), gpu)
	link := filepath.Join(root, "current")
	if err := os.Symlink(filepath.Join(".worktrees", commit), link); err != nil {
		t.Fatal(err)
	}
	d := startDaemon(t, link, "--node-name", "node-a", "--node-labels", "zone=eu,disk=ssd",
		"--advertise-address", "10.9.8.7:9999")

	eventually(t, 30*time.Second, "web ready", func() bool {
		insts := d.instances("web")
		return len(insts) == 1 && insts[0].Ready
	})
	var n v1alpha1.Node
	if code, err := d.getJSON("/api/v1/node", &n); code != 200 || err != nil {
		t.Fatalf("GET /api/v1/node: %d %v", code, err)
	}
	resolved, _ := filepath.EvalSymlinks(worktree)
	if n.Name != "node-a" || n.Labels["zone"] != "eu" || n.Labels["disk"] != "ssd" || n.AdvertiseAddress != "10.9.8.7:9999" ||
		n.Source.Folder != link || n.Source.Resolved != resolved || n.Source.SourceRevision != commit || !n.Synced ||
		n.Counts.Apps != 2 || n.Counts.NotScheduled != 1 || n.Counts.Ready != 1 || n.Version == "" {
		t.Errorf("node %+v", n)
	}

	var groups []struct {
		Targets []string          `json:"targets"`
		Labels  map[string]string `json:"labels"`
	}
	if code, err := d.getJSON("/api/v1/targets", &groups); code != 200 || err != nil || len(groups) != 1 {
		t.Fatalf("targets: %d %v %+v", code, err, groups)
	}
	port := d.instances("web")[0].Ports["http"]
	if want := net.JoinHostPort("10.9.8.7", strconv.Itoa(int(port))); groups[0].Targets[0] != want || groups[0].Labels["node"] != "node-a" {
		t.Errorf("targets %+v, want %s with node=node-a", groups, want)
	}

	code, out, errOut := proclet(t, "get", "apps", "--server", d.base)
	if code != 0 || !lineHas(out, "gpu", "NotScheduled") || !lineHas(out, "web", "1/1") {
		t.Errorf("get apps: exit %d\n%s%s", code, out, errOut)
	}
	gpuApp, _ := d.app("gpu")
	c, ok := condition(gpuApp, v1alpha1.ConditionScheduled)
	if gpuApp.Status == nil || gpuApp.Status.State != v1alpha1.AppNotScheduled || !ok || c.Status != v1alpha1.ConditionFalse ||
		c.Reason != "NotScheduled" || !strings.Contains(c.Message, "nodeSelector {gpu=true,zone=eu}") ||
		!strings.Contains(c.Message, "{disk=ssd,zone=eu}") {
		t.Errorf("gpu: status %+v", gpuApp.Status)
	}
	if insts := d.instances("gpu"); len(insts) != 0 {
		t.Errorf("gpu runs here: %+v", insts)
	}
	sc, err := d.scrape()
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`proclet_node_info{node="node-a",source_revision="` + commit + `"} 1`,
		`proclet_manifests_source_revision_info{revision="` + commit + `"} 1`} {
		if !slices.Contains(sc.series, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}

// lineHas reports whether a line of out starts with name and has want as
// a field.
func lineHas(out, name, want string) bool {
	for _, l := range strings.Split(out, "\n") {
		f := strings.Fields(l)
		if len(f) > 1 && f[0] == name {
			for _, x := range f[1:] {
				if x == want {
					return true
				}
			}
		}
	}
	return false
}
