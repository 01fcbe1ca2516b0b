package e2e

import (
	"bytes"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// systemdSocket is a unixgram socket the test owns, standing in for
// systemd's NOTIFY_SOCKET: every datagram the daemon sends goes to msgs.
type systemdSocket struct {
	addr string
	msgs chan string
}

func listenSystemd(t *testing.T) *systemdSocket {
	t.Helper()
	addr := filepath.Join(t.TempDir(), "notify")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: addr, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	s := &systemdSocket{addr: addr, msgs: make(chan string, 4096)}
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 4096)
		for {
			n, err := conn.Read(buf)
			if err != nil {
				return
			}
			select {
			case s.msgs <- string(buf[:n]):
			default: // a test that stopped reading: drop
			}
		}
	}()
	t.Cleanup(func() { conn.Close(); <-done })
	return s
}

// next returns the first datagram containing want, failing after within.
func (s *systemdSocket) next(t *testing.T, within time.Duration, want string, seen *[]string) string {
	t.Helper()
	deadline := time.After(within)
	for {
		select {
		case m := <-s.msgs:
			*seen = append(*seen, m)
			if strings.Contains(m, want) {
				return m
			}
		case <-deadline:
			t.Fatalf("no %q from the daemon within %s; got %q", want, within, *seen)
		}
	}
}

// TestSystemd_Notify: the built daemon under Type=notify (NOTIFY_SOCKET
// set, a watchdog of 400 ms): READY=1 once its apps are reconciled (and
// /readyz agrees), with their counts in STATUS=; WATCHDOG=1 again and
// again; nothing of it reaches an instance's environment; STOPPING=1 at
// SIGTERM.
func TestSystemd_Notify(t *testing.T) {
	if testing.Short() {
		t.Skip("end to end")
	}
	sock := listenSystemd(t)
	t.Setenv("NOTIFY_SOCKET", sock.addr)
	t.Setenv("WATCHDOG_USEC", "400000")
	manifests := t.TempDir()
	writeFile(t, filepath.Join(manifests, "web.yaml"), appManifest("web", 2))
	d := startDaemon(t, manifests)
	var seen []string
	ready := sock.next(t, 30*time.Second, "READY=1", &seen)
	if code, _ := d.getJSON("/readyz", nil); code != 200 {
		t.Errorf("READY=1 sent, but /readyz says %d", code)
	}
	if !strings.Contains(ready, "STATUS=1 apps, 2 instances running") {
		t.Errorf("READY=1 datagram %q, want the counts in STATUS=", ready)
	}
	for range 3 {
		sock.next(t, 5*time.Second, "WATCHDOG=1", &seen)
	}
	pids := d.runningPIDs("web")
	if len(pids) != 2 {
		t.Fatalf("running %v, want 2 instances", pids)
	}
	for name, pid := range pids {
		env, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "environ"))
		if err != nil {
			t.Fatal(err)
		}
		for _, kv := range bytes.Split(env, []byte{0}) {
			if s := string(kv); strings.HasPrefix(s, "WATCHDOG_") || s == "NOTIFY_SOCKET="+sock.addr {
				t.Errorf("instance %s inherited the daemon's %s", name, s)
			}
		}
	}
	d.stop() // SIGTERM, and the daemon's exit
	sock.next(t, 5*time.Second, "STOPPING=1", &seen)
}

// TestSystemd_UnitVerifies: docs/proclet.service is a notify service with
// a watchdog and KillMode=process, and systemd-analyze verify finds
// nothing to say about it (its ExecStart pointed at the built binary).
func TestSystemd_UnitVerifies(t *testing.T) {
	if testing.Short() {
		t.Skip("end to end")
	}
	unit, err := os.ReadFile(filepath.Join("..", "..", "docs", "proclet.service"))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range []string{"Type=notify", "NotifyAccess=main", "WatchdogSec=30s", "KillMode=process", "ExecStart=/usr/local/bin/proclet run"} {
		if !bytes.Contains(unit, []byte("\n"+line)) {
			t.Errorf("docs/proclet.service has no %q line", line)
		}
	}
	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Skip("no systemd-analyze")
	}
	path := filepath.Join(t.TempDir(), "proclet.service")
	local := bytes.ReplaceAll(unit, []byte("/usr/local/bin/proclet"), []byte(bins.proclet))
	if err := os.WriteFile(path, local, 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(analyze, "verify", path).CombinedOutput()
	if err != nil || len(bytes.TrimSpace(out)) != 0 {
		t.Fatalf("systemd-analyze verify: %v\n%s", err, out)
	}
}

// TestMakeInstall: make install DESTDIR=... PREFIX=... installs the
// binary, and the unit with its ExecStart pointing at the installed
// binary, under DESTDIR; a completion file for each shell exactly when
// the binary can write one.
func TestMakeInstall(t *testing.T) {
	if testing.Short() {
		t.Skip("end to end")
	}
	if _, err := exec.LookPath("make"); err != nil {
		t.Skip("no make")
	}
	for _, prefix := range []string{"", "/opt/proclet"} {
		dest := t.TempDir()
		args := []string{"-C", filepath.Join("..", ".."), "install", "DESTDIR=" + dest}
		if prefix != "" {
			args = append(args, "PREFIX="+prefix)
		} else {
			prefix = "/usr/local"
		}
		if out, err := exec.Command("make", args...).CombinedOutput(); err != nil {
			t.Fatalf("make %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		bin := filepath.Join(dest, prefix, "bin", "proclet")
		if fi, err := os.Stat(bin); err != nil || fi.Mode().Perm() != 0o755 {
			t.Fatalf("installed binary: %v, %v", fi, err)
		}
		if out, err := exec.Command(bin, "version", "--client").Output(); err != nil || !strings.HasPrefix(string(out), "Client Version: v") {
			t.Errorf("%s version: %q, %v", bin, out, err)
		}
		unit, err := os.ReadFile(filepath.Join(dest, prefix, "lib", "systemd", "system", "proclet.service"))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Contains(unit, []byte("\nExecStart="+prefix+"/bin/proclet run")) {
			t.Errorf("PREFIX %s: the installed unit's ExecStart does not run %s/bin/proclet:\n%s", prefix, prefix, unit)
		}
		for shell, file := range map[string]string{"bash": "bash-completion/completions/proclet",
			"zsh": "zsh/site-functions/_proclet", "fish": "fish/vendor_completions.d/proclet.fish"} {
			_, err := os.Stat(filepath.Join(dest, prefix, "share", file))
			can := exec.Command(bin, "completion", shell).Run() == nil
			if can != (err == nil) {
				t.Errorf("%s completion: the binary can write one: %v; installed: %v", shell, can, err)
			}
		}
		var outside []string
		_ = filepath.Walk(dest, func(p string, fi os.FileInfo, _ error) error {
			if fi != nil && !fi.IsDir() && !strings.HasPrefix(p, filepath.Join(dest, prefix)+"/") {
				outside = append(outside, p)
			}
			return nil
		})
		if len(outside) != 0 {
			t.Errorf("installed outside DESTDIR/PREFIX: %v", outside)
		}
	}
}
