package e2e

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// bombManifest is a 1.3 KB manifest whose env values each reference the
// one before eight times: expanded, the last is 8^22 bytes (past int64).
func bombManifest() string {
	var b strings.Builder
	fmt.Fprintf(&b, "apiVersion: proclet.dev/v1alpha1\nkind: App\nmetadata: {name: bomb}\nspec:\n  command: [workload, \"$(V)\"]\n  env:\n  - {name: A, value: abcdefgh}\n")
	names := "ABCDEFGHIJKLMNOPQRSTUV"
	for i := 1; i < len(names); i++ {
		fmt.Fprintf(&b, "  - {name: %c, value: %s}\n", names[i], strings.Repeat("$("+names[i-1:i]+")", 8))
	}
	return b.String()
}

// manifestErrors is GET /api/v1/manifests as raw text and as the error of
// each path.
func (d *daemon) manifestErrors() (string, map[string]map[string]any) {
	d.t.Helper()
	var l struct {
		Items []struct {
			Path  string         `json:"path"`
			Error map[string]any `json:"error"`
		} `json:"items"`
	}
	if code, err := d.getJSON("/api/v1/manifests", &l); err != nil || code != 200 {
		d.t.Fatalf("manifests: %d %v", code, err)
	}
	out := map[string]map[string]any{}
	for _, it := range l.Items {
		out[it.Path] = it.Error
	}
	return d.get("/api/v1/manifests"), out
}

func (d *daemon) get(path string) string {
	d.t.Helper()
	resp, err := http.Get(d.base + path)
	if err != nil {
		d.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// vmHWM is the peak RSS of pid in bytes.
func vmHWM(t *testing.T, pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.Lines(string(b)) {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return kb << 10
		}
	}
	t.Fatal("no VmHWM")
	return 0
}

// TestHostileManifests: beside a healthy app, a 1 KB manifest whose
// $(VAR) expansion grows geometrically and a manifest-folder link to a
// key file. The daemon keeps supervising the healthy app, reports the
// bomb invalid naming the field, repeats the key nowhere (API, events,
// log), and its peak RSS stays small.
func TestHostileManifests(t *testing.T) {
	skipShort(t)
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "web.yaml"), appManifest("web", 1))
	bomb := bombManifest()
	if len(bomb) > 1400 {
		t.Fatalf("the bomb is %d bytes", len(bomb))
	}
	writeFile(t, filepath.Join(dir, "bomb.yaml"), bomb)
	const secret = "sk-live-4f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c"
	keyFile := filepath.Join(t.TempDir(), "api.key")
	writeFile(t, keyFile, secret+"\n")
	if err := os.Symlink(keyFile, filepath.Join(dir, "key.yaml")); err != nil {
		t.Fatal(err)
	}
	d := startDaemon(t, dir)

	var errs map[string]map[string]any
	var raw string
	eventually(t, 20*time.Second, "web running, bomb.yaml and key.yaml reported", func() bool {
		raw, errs = d.manifestErrors()
		return len(d.runningPIDs("web")) == 1 && errs["bomb.yaml"] != nil && errs["key.yaml"] != nil
	})
	if e := errs["bomb.yaml"]; e["field"] != "spec.env[5].value" || e["reason"] != "Invalid" ||
		!strings.Contains(fmt.Sprint(e["message"]), "over the bound of 65536 bytes") {
		t.Errorf("bomb.yaml: %v", e)
	}
	if a, ok := d.app("bomb"); ok {
		t.Errorf("the bomb became an app: %+v", a)
	}
	events := d.get("/api/v1/events?limit=1000")
	for what, text := range map[string]string{"/api/v1/manifests": raw, "/api/v1/events": events, "the daemon log": d.logs.String()} {
		if strings.Contains(text, secret) || strings.Contains(text, secret[:16]) {
			t.Errorf("%s repeats the key file's content:\n%s", what, text)
		}
	}
	pid := d.cmd.Process.Pid
	if hwm := vmHWM(t, pid); hwm > 200<<20 {
		t.Errorf("daemon peak RSS %d MiB, over 200 MiB", hwm>>20)
	} else {
		t.Logf("daemon peak RSS %.1f MiB", float64(hwm)/(1<<20))
	}
	// Still supervising: a killed instance of the healthy app is replaced.
	old := d.runningPIDs("web")["web-0"]
	_ = syscall.Kill(old, syscall.SIGKILL)
	eventually(t, 20*time.Second, "web-0 restarted", func() bool {
		p := d.runningPIDs("web")["web-0"]
		return p != 0 && p != old
	})
}

// TestHostileGrace: a manifest with terminationGracePeriodSeconds near
// int64's maximum beside a healthy app whose instances ignore SIGTERM. The
// huge grace is invalid, naming the field; a daemon SIGTERM (--on-exit
// stop) still stops every instance: the shutdown wait did not wrap.
func TestHostileGrace(t *testing.T) {
	skipShort(t)
	dir := t.TempDir()
	web := strings.Replace(appManifest("web", 2, "--ignore-sigterm", "--announce"), "terminationGracePeriodSeconds: 5", "terminationGracePeriodSeconds: 2", 1)
	writeFile(t, filepath.Join(dir, "web.yaml"), web)
	slow := strings.Replace(appManifest("slow", 1), "terminationGracePeriodSeconds: 5", "terminationGracePeriodSeconds: 9223372036854775807", 1)
	writeFile(t, filepath.Join(dir, "slow.yaml"), slow)
	d := startDaemon(t, dir, "--on-exit", "stop")

	var errs map[string]map[string]any
	var pids map[string]int
	eventually(t, 20*time.Second, "web running, slow.yaml reported (or slow running)", func() bool {
		_, errs = d.manifestErrors()
		pids = d.runningPIDs("web")
		return len(pids) == 2 && (errs["slow.yaml"] != nil || len(d.runningPIDs("slow")) == 1)
	})
	if e := errs["slow.yaml"]; e["field"] != "spec.terminationGracePeriodSeconds" ||
		!strings.Contains(fmt.Sprint(e["message"]), "must be at most 315360000") {
		t.Errorf("slow.yaml: %v", e)
	}
	// SIGTERM is ignored only once the workload handles signals.
	for name := range pids {
		path := filepath.Join(d.stateDir, "logs", "web", name+".stderr.log")
		eventually(t, 20*time.Second, name+" handling signals", func() bool {
			b, _ := os.ReadFile(path)
			return strings.Contains(string(b), "ready pid=")
		})
	}
	all := pids
	for name, pid := range d.runningPIDs("slow") { // only where the grace was accepted
		all[name] = pid
	}
	begin := time.Now()
	d.stop()
	t.Logf("daemon stopped %d instances in %v", len(all), time.Since(begin))
	for name, pid := range all {
		if alive(pid) {
			t.Errorf("%s (pid %d) still running after the daemon's SIGTERM with --on-exit stop", name, pid)
		}
	}
}
