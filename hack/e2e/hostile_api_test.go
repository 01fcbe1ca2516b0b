package e2e

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"proclet.dev/proclet/apis/v1alpha1"
)

// rawGet sends one GET on a new connection with the given Host header and
// header lines, and reads the answer; the connection is the caller's.
func rawGet(t *testing.T, addr, host, path string, lines ...string) (*http.Response, string, net.Conn, *bufio.Reader) {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	_ = c.SetDeadline(time.Now().Add(20 * time.Second))
	req := "GET " + path + " HTTP/1.1\r\nHost: " + host + "\r\n" + strings.Join(append(lines, ""), "\r\n") + "\r\n"
	if _, err := io.WriteString(c, req); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("GET %s with Host %q: %v", path, host, err)
	}
	body := ""
	if resp.StatusCode != http.StatusSwitchingProtocols {
		b, _ := io.ReadAll(resp.Body)
		body = string(b)
	}
	return resp, body, c, br
}

// closedByServer reports whether the server closes c within 5 s.
func closedByServer(c net.Conn, br *bufio.Reader) bool {
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, err := br.ReadByte()
	var ne net.Error
	return err != nil && !(errors.As(err, &ne) && ne.Timeout())
}

// probedManifest is servingManifest's app whose readiness probe sends a
// secret header.
func probedManifest(name string, port int, secret string) string {
	return servingManifest(name, port, false) + fmt.Sprintf(`  readinessProbe:
    httpGet:
      path: /healthz
      port: http
      httpHeaders: [{name: X-Probe-Token, value: %q}]
    periodSeconds: 1
`, secret)
}

// freshGet is a GET on a connection of its own (none of a pool the flood
// may have closed).
func freshGet(base, path string, v any) (int, string, error) {
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := client.Get(base + path)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err == nil && v != nil && resp.StatusCode == http.StatusOK {
		err = json.Unmarshal(b, v)
	}
	return resp.StatusCode, string(b), err
}

// daemonFDs counts the daemon's open descriptors.
func daemonFDs(t *testing.T, pid int) int {
	t.Helper()
	ents, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		t.Fatal(err)
	}
	return len(ents)
}

func webReady(base string) (bool, error) {
	var l struct {
		Items []v1alpha1.Instance `json:"items"`
	}
	code, body, err := freshGet(base, "/api/v1/apps/web/instances", &l)
	if err != nil || code != http.StatusOK {
		return false, fmt.Errorf("instances of web: %d %v %s", code, err, body)
	}
	return len(l.Items) == 1 && l.Items[0].Ready, nil
}

// TestHostileAPI_ConnectionFlood: thousands of keyless keep-alive
// connections, more than the daemon's descriptors, leave supervision
// alone: the probed instance stays ready, a new app starts and is saved,
// the daemon holds no more descriptors than its cap and a little, and the
// API answers during and after the flood.
func TestHostileAPI_ConnectionFlood(t *testing.T) {
	skipShort(t)
	const (
		maxConns = 256
		nofile   = 2048 // the daemon's descriptors, fewer than the flood
		flood    = 6000
		secret   = "s3cret-e2e-probe-token"
	)
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "web.yaml"), probedManifest("web", freePort(t), secret))
	d := startDaemon(t, dir, "--max-connections", fmt.Sprint(maxConns), "--max-connections-per-client", "64")
	eventually(t, 30*time.Second, "web-0 ready", func() bool { ok, _ := webReady(d.base); return ok })
	d.instances("web") // remember its PID for the cleanup

	// (d) The probe's header value is redacted in the apps and the watch.
	for _, p := range []string{"/api/v1/apps", "/api/v1/apps/web"} {
		if code, body, err := freshGet(d.base, p, nil); err != nil || code != 200 || strings.Contains(body, secret) ||
			!strings.Contains(body, `"X-Probe-Token"`) || !strings.Contains(body, `"<redacted>"`) {
			t.Errorf("%s: %d %v, the header value not redacted: %s", p, code, err, body)
		}
	}
	addr := strings.TrimPrefix(d.base, "http://")
	if msg := firstWatchMessage(t, addr); strings.Contains(msg, secret) || !strings.Contains(msg, `"X-Probe-Token"`) {
		t.Errorf("the watch shows the probe header: %s", msg)
	}

	pid := d.cmd.Process.Pid
	if err := unix.Prlimit(pid, unix.RLIMIT_NOFILE, &unix.Rlimit{Cur: nofile, Max: nofile}, nil); err != nil {
		t.Fatalf("lower the daemon's RLIMIT_NOFILE: %v", err)
	}
	conns := make([]net.Conn, 0, flood)
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for i := range flood {
		dialer := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 1, byte(1+i%100))}, Timeout: 3 * time.Second}
		c, err := dialer.Dial("tcp", addr)
		if err != nil {
			t.Errorf("flood connection %d: %v (the daemon no longer accepts)", i, err)
			break
		}
		conns = append(conns, c)
		_, _ = io.WriteString(c, "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
	}
	if n := daemonFDs(t, pid); n > maxConns+150 {
		t.Errorf("the daemon holds %d descriptors under the flood, cap %d", n, maxConns)
	}

	// Supervision goes on while the flood's connections are held: the
	// probed instance stays ready for several probe periods, a new app
	// starts and the state file records it.
	writeFile(t, filepath.Join(dir, "extra.yaml"), appManifest("extra", 1))
	until := time.Now().Add(6 * time.Second)
	for time.Now().Before(until) {
		if ok, err := webReady(d.base); !ok {
			t.Fatalf("web-0 under the flood: ready=%v %v", ok, err)
		}
		time.Sleep(200 * time.Millisecond) // polling interval
	}
	eventually(t, 30*time.Second, "extra started under the flood and saved", func() bool {
		var l struct {
			Items []v1alpha1.Instance `json:"items"`
		}
		if code, _, err := freshGet(d.base, "/api/v1/apps/extra/instances", &l); err != nil || code != 200 || len(l.Items) != 1 || l.Items[0].PID == 0 {
			return false
		}
		seenPIDs.Store(l.Items[0].PID, true)
		b, err := os.ReadFile(filepath.Join(d.stateDir, "instances.json"))
		return err == nil && strings.Contains(string(b), l.Items[0].UID)
	})
	if n := daemonFDs(t, pid); n > maxConns+150 {
		t.Errorf("the daemon holds %d descriptors under the flood, cap %d", n, maxConns)
	}
	for _, c := range conns {
		c.Close()
	}
	conns = nil
	eventually(t, 30*time.Second, "the API to answer after the flood", func() bool {
		code, _, err := freshGet(d.base, "/healthz", nil)
		return err == nil && code == 200
	})
	sc, err := d.scrape()
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := unlabeled(sc, "proclet_api_connections_idle_closed_total"); v == 0 {
		t.Error("proclet_api_connections_idle_closed_total is 0 after a flood over the cap")
	}
	if v, ok := unlabeled(sc, "proclet_api_connections_max"); !ok || v != maxConns {
		t.Errorf("proclet_api_connections_max %v %v, want %d", v, ok, maxConns)
	}
	if strings.Contains(d.logs.String(), "too many open files") {
		t.Errorf("the daemon ran out of descriptors:\n%s", d.logs)
	}
}

// firstWatchMessage opens the watch without Origin (as the CLI does) and
// returns its first message, the ADDED of the first app.
func firstWatchMessage(t *testing.T, addr string) string {
	t.Helper()
	resp, _, c, br := rawGet(t, addr, addr, "/api/v1/watch", wsUpgrade...)
	if resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("watch: %d", resp.StatusCode)
	}
	defer c.Close()
	// A server's text frame: FIN+text, then the payload length.
	hdr := make([]byte, 2)
	if _, err := io.ReadFull(br, hdr); err != nil {
		t.Fatal(err)
	}
	n := int(hdr[1] & 0x7f)
	switch n {
	case 126:
		ext := make([]byte, 2)
		_, _ = io.ReadFull(br, ext)
		n = int(ext[0])<<8 | int(ext[1])
	case 127:
		t.Fatal("a watch message over 64 KiB")
	}
	msg := make([]byte, n)
	if _, err := io.ReadFull(br, msg); err != nil {
		t.Fatal(err)
	}
	return string(msg)
}

var wsUpgrade = []string{"Upgrade: websocket", "Connection: Upgrade", "Sec-WebSocket-Version: 13",
	"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ=="}

// TestHostileAPI_DNSRebinding: a page of attacker.example resolved to
// 127.0.0.1 is refused, on the REST API and the watch.
func TestHostileAPI_DNSRebinding(t *testing.T) {
	skipShort(t)
	d := startDaemon(t, t.TempDir())
	addr := strings.TrimPrefix(d.base, "http://")
	_, port, _ := net.SplitHostPort(addr)
	for _, host := range []string{"attacker.example:" + port, "attacker.example"} {
		resp, body, c, br := rawGet(t, addr, host, "/api/v1/apps")
		if resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "--allowed-host") || !resp.Close || !closedByServer(c, br) {
			t.Errorf("Host %q: %d close=%v %s, want 403 and the connection closed", host, resp.StatusCode, resp.Close, body)
		}
	}
	for _, host := range []string{"localhost:" + port, "127.0.0.1:" + port} {
		if resp, body, _, _ := rawGet(t, addr, host, "/api/v1/apps"); resp.StatusCode != http.StatusOK {
			t.Errorf("Host %q: %d %s, want 200", host, resp.StatusCode, body)
		}
	}
	for _, tc := range []struct {
		host, origin string
		want         int
	}{
		{addr, "", http.StatusSwitchingProtocols},
		{"localhost:" + port, "http://localhost:" + port, http.StatusSwitchingProtocols},
		{addr, "http://attacker.example", http.StatusForbidden},
		{"attacker.example:" + port, "http://attacker.example:" + port, http.StatusForbidden}, // rebinding
	} {
		lines := wsUpgrade
		if tc.origin != "" {
			lines = append([]string{"Origin: " + tc.origin}, wsUpgrade...)
		}
		if resp, body, _, _ := rawGet(t, addr, tc.host, "/api/v1/watch", lines...); resp.StatusCode != tc.want {
			t.Errorf("watch with Host %q Origin %q: %d %s, want %d", tc.host, tc.origin, resp.StatusCode, body, tc.want)
		}
	}
}

// TestHostileAPI_UnauthorizedCloses: a 401 ends the connection, so that a
// keyless client cannot hold connections open.
func TestHostileAPI_UnauthorizedCloses(t *testing.T) {
	skipShort(t)
	keys := filepath.Join(t.TempDir(), "keys")
	if err := os.WriteFile(keys, []byte("e2e-key\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	d := startDaemon(t, t.TempDir(), "--api-key-file", keys)
	addr := strings.TrimPrefix(d.base, "http://")
	resp, _, c, br := rawGet(t, addr, addr, "/api/v1/apps")
	if resp.StatusCode != http.StatusUnauthorized || !resp.Close || !closedByServer(c, br) {
		t.Errorf("no key: %d close=%v, want 401 and the connection closed", resp.StatusCode, resp.Close)
	}
	resp, _, _, _ = rawGet(t, addr, addr, "/api/v1/apps", "Authorization: Bearer e2e-key")
	if resp.StatusCode != http.StatusOK || resp.Close {
		t.Errorf("with the key: %d close=%v, want 200 and keep-alive", resp.StatusCode, resp.Close)
	}
}

// unlabeled is the value of a series without labels.
func unlabeled(s scrape, name string) (float64, bool) {
	for _, l := range s.series {
		if v, ok := strings.CutPrefix(l, name+" "); ok {
			f, err := strconv.ParseFloat(strings.Fields(v)[0], 64)
			return f, err == nil
		}
	}
	return 0, false
}
