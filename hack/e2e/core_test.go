package e2e

import (
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

func skipShort(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end: skipped with -short")
	}
}

// TestCoreLoop walks the whole life of an app through the real binary:
// start, crash, scale down, a broken edit, removal.
func TestCoreLoop(t *testing.T) {
	skipShort(t)
	dir := t.TempDir()
	file := filepath.Join(dir, "web.yaml")
	writeFile(t, file, appManifest("web", 3))
	d := startDaemon(t, dir)

	// Three live PIDs within a second (and a few more for a loaded CI box).
	var pids map[string]int
	eventually(t, 5*time.Second, "three running instances", func() bool {
		pids = d.runningPIDs("web")
		return len(pids) == 3
	})
	if code, _ := d.getJSON("/readyz", nil); code != 200 {
		t.Fatalf("readyz %d after the first reconcile", code)
	}

	// kill -9 of one: a new PID for the same instance, the others untouched.
	victim := pids["web-1"]
	if err := syscall.Kill(victim, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	eventually(t, 5*time.Second, "web-1 restarted with a new PID", func() bool {
		now := d.runningPIDs("web")
		return len(now) == 3 && now["web-1"] != victim && now["web-1"] != 0
	})
	after := d.runningPIDs("web")
	if after["web-0"] != pids["web-0"] || after["web-2"] != pids["web-2"] {
		t.Fatalf("untouched instances restarted: before %v after %v", pids, after)
	}
	for _, i := range d.instances("web") {
		if i.Name == "web-1" && (i.Restarts != 1 || i.LastExit == nil || i.LastExit.Signal != "SIGKILL") {
			t.Fatalf("web-1 after kill: restarts %d lastExit %+v", i.Restarts, i.LastExit)
		}
	}

	// replicas: 1 — web-1 and web-2 stop, web-0 stays.
	writeFile(t, file, appManifest("web", 1))
	eventually(t, 10*time.Second, "scaled down to web-0", func() bool {
		return !alive(after["web-1"]) && !alive(after["web-2"]) && len(d.runningPIDs("web")) == 1
	})
	if now := d.runningPIDs("web"); now["web-0"] != pids["web-0"] {
		t.Fatalf("web-0 restarted by a scale-down: %v, was %d", now, pids["web-0"])
	}

	// A broken edit: the old spec keeps running, the API and validate say why.
	writeFile(t, file, strings.Replace(appManifest("web", 1), "replicas: 1", "replicas: [", 1))
	eventually(t, 5*time.Second, "the manifest error reported", func() bool {
		var app struct {
			Status struct {
				Conditions []struct{ Type, Status, Message string } `json:"conditions"`
			} `json:"status"`
		}
		if code, err := d.getJSON("/api/v1/apps/web", &app); code != 200 || err != nil {
			return false
		}
		for _, c := range app.Status.Conditions {
			if c.Type == "ManifestValid" && c.Status == "False" && strings.Contains(c.Message, "web.yaml") {
				return true
			}
		}
		return false
	})
	if now := d.runningPIDs("web"); now["web-0"] != pids["web-0"] {
		t.Fatalf("a broken edit touched web-0: %v", now)
	}
	out, err := exec.Command(bins.proclet, "validate", dir).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "web.yaml:") {
		t.Fatalf("validate of a broken dir: err %v, output:\n%s", err, out)
	}

	// The file removed: no process left.
	if err := os.Remove(file); err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, "every instance gone and the app with them", func() bool {
		code, _ := d.getJSON("/api/v1/apps/web", nil)
		return !alive(pids["web-0"]) && code == 404
	})
}

// TestSymlinkSwap swaps the manifests directory's link to a new folder, as
// git-sync does, and expects the new set applied as one change.
func TestSymlinkSwap(t *testing.T) {
	skipShort(t)
	root := t.TempDir()
	a, b := filepath.Join(root, ".worktrees", "aaaa111"), filepath.Join(root, ".worktrees", "bbbb222")
	writeFile(t, filepath.Join(a, "one.yaml"), appManifest("one", 1))
	writeFile(t, filepath.Join(a, "two.yaml"), appManifest("two", 1))
	writeFile(t, filepath.Join(b, "two.yaml"), appManifest("two", 1))
	writeFile(t, filepath.Join(b, "three.yaml"), appManifest("three", 2))
	link := filepath.Join(root, "current")
	if err := os.Symlink(a, link); err != nil {
		t.Fatal(err)
	}
	d := startDaemon(t, link)
	eventually(t, 5*time.Second, "one and two running", func() bool {
		return len(d.runningPIDs("one")) == 1 && len(d.runningPIDs("two")) == 1
	})
	two := d.runningPIDs("two")["two-0"]

	tmp := filepath.Join(root, "tmp-link")
	if err := os.Symlink(b, tmp); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, link); err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(a); err != nil {
		t.Fatal(err)
	}
	eventually(t, 5*time.Second, "the new set: two and three, not one", func() bool {
		return len(d.runningPIDs("one")) == 0 && len(d.runningPIDs("three")) == 2 && len(d.runningPIDs("two")) == 1
	})
	if got := d.runningPIDs("two")["two-0"]; got != two {
		t.Fatalf("two restarted by the swap: pid %d, was %d", got, two)
	}
	var app struct {
		Status struct {
			SourceRevision string `json:"sourceRevision"`
		} `json:"status"`
	}
	if _, err := d.getJSON("/api/v1/apps/three", &app); err != nil || app.Status.SourceRevision != "bbbb222" {
		t.Fatalf("sourceRevision %q (%v), want bbbb222", app.Status.SourceRevision, err)
	}
	// Edits inside the new target are still seen.
	writeFile(t, filepath.Join(b, "three.yaml"), appManifest("three", 1))
	eventually(t, 5*time.Second, "three scaled to 1 after an edit in the new target", func() bool {
		return len(d.runningPIDs("three")) == 1
	})
}

// TestSecondDaemonRefused: a second daemon on the same state dir says so
// and exits non-zero, leaving the first alone.
func TestSecondDaemonRefused(t *testing.T) {
	skipShort(t)
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "web.yaml"), appManifest("web", 1))
	d := startDaemon(t, dir)
	out, err := exec.Command(bins.proclet, "run", "--manifests", dir, "--state-dir", d.stateDir, "--listen", "127.0.0.1:0").CombinedOutput()
	if err == nil || !strings.Contains(string(out), "already running") {
		t.Fatalf("second daemon: err %v, output:\n%s", err, out)
	}
	if code, _ := d.getJSON("/healthz", nil); code != 200 {
		t.Fatalf("first daemon unhealthy after the refusal: %d", code)
	}
}

// TestShutdownStopsInstances: SIGTERM stops every instance and exits 0;
// --on-exit keep leaves them running.
func TestShutdownStopsInstances(t *testing.T) {
	skipShort(t)
	for _, keep := range []bool{false, true} {
		name := map[bool]string{false: "stop", true: "keep"}[keep]
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			writeFile(t, filepath.Join(dir, "web.yaml"), appManifest("web", 2))
			d := startDaemon(t, dir, "--on-exit", name)
			var pids map[string]int
			eventually(t, 5*time.Second, "two running", func() bool {
				pids = d.runningPIDs("web")
				return len(pids) == 2
			})
			d.stop()
			if code := d.cmd.ProcessState.ExitCode(); code != 0 {
				t.Fatalf("exit code %d after SIGTERM:\n%s", code, d.logs)
			}
			for _, pid := range slices.Collect(maps.Values(pids)) {
				if alive(pid) != keep {
					t.Errorf("pid %d alive=%v with --on-exit %s", pid, alive(pid), name)
				}
			}
		})
	}
}
