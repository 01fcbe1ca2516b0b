package e2e

import (
	"maps"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"proclet.dev/proclet/apis/v1alpha1"
)

// TestBrokenManifestAcrossADaemonRestart: a daemon killed (-9) and started
// again while the manifest of a running app is broken leaves the app's
// instances running (same PIDs), shows the app with ManifestValid=False,
// adopts them without a restart once the file is fixed, and stops them
// once the file is removed.
func TestBrokenManifestAcrossADaemonRestart(t *testing.T) {
	skipShort(t)
	dir, state := t.TempDir(), t.TempDir()
	web := filepath.Join(dir, "web.yaml")
	good := appManifest("web", 2)
	writeFile(t, web, good)
	d := startDaemonOn(t, dir, state)
	var pids map[string]int
	eventually(t, 20*time.Second, "2 running instances", func() bool {
		pids = d.runningPIDs("web")
		return len(pids) == 2
	})
	eventually(t, 5*time.Second, "web's file in reconciler.json", func() bool {
		data, _ := os.ReadFile(filepath.Join(state, "reconciler.json"))
		return strings.Contains(string(data), `"web.yaml"`)
	})
	if err := d.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	<-d.exited

	writeFile(t, web, strings.Replace(good, "spec:", "spec:\n  replicas: [", 1))
	d = startDaemonOn(t, dir, state)
	var app v1alpha1.App
	eventually(t, 10*time.Second, "web shown with ManifestValid=False", func() bool {
		if code, err := d.getJSON("/api/v1/apps/web", &app); err != nil || code != 200 || app.Status == nil {
			return false
		}
		for _, c := range app.Status.Conditions {
			if c.Type == v1alpha1.ConditionManifestValid && c.Status == v1alpha1.ConditionFalse {
				return true
			}
		}
		return false
	})
	if got := d.runningPIDs("web"); !maps.Equal(got, pids) {
		t.Fatalf("a broken manifest at daemon start changed web's instances: %v, were %v", got, pids)
	}
	for name, pid := range pids {
		if !alive(pid) {
			t.Fatalf("%s (pid %d) was stopped", name, pid)
		}
	}

	writeFile(t, web, good)
	eventually(t, 10*time.Second, "web valid again", func() bool {
		code, err := d.getJSON("/api/v1/apps/web", &app)
		if err != nil || code != 200 || app.Status == nil {
			return false
		}
		for _, c := range app.Status.Conditions {
			if c.Type == v1alpha1.ConditionManifestValid {
				return c.Status == v1alpha1.ConditionTrue
			}
		}
		return false
	})
	if got := d.runningPIDs("web"); !maps.Equal(got, pids) {
		t.Fatalf("the fix restarted web: %v, were %v", got, pids)
	}

	if err := os.Remove(web); err != nil {
		t.Fatal(err)
	}
	eventually(t, 20*time.Second, "web's instances stopped", func() bool {
		for _, pid := range pids {
			if alive(pid) {
				return false
			}
		}
		return true
	})
}

// TestRestartCountsAfterACleanStop: a daemon stopped with SIGTERM stops
// its instances, and the next one counts their restarts from zero.
func TestRestartCountsAfterACleanStop(t *testing.T) {
	skipShort(t)
	dir, state := t.TempDir(), t.TempDir()
	writeFile(t, filepath.Join(dir, "web.yaml"), appManifest("web", 1))
	d := startDaemonOn(t, dir, state)
	var pids map[string]int
	eventually(t, 20*time.Second, "web-0 running", func() bool {
		pids = d.runningPIDs("web")
		return len(pids) == 1
	})
	if err := syscall.Kill(pids["web-0"], syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	eventually(t, 20*time.Second, "web-0 restarted once", func() bool {
		insts := d.instances("web")
		return len(insts) == 1 && insts[0].Restarts == 1 && insts[0].Phase == "Running"
	})
	d.stop()

	d = startDaemonOn(t, dir, state)
	eventually(t, 20*time.Second, "web-0 running again", func() bool {
		insts := d.instances("web")
		return len(insts) == 1 && insts[0].Phase == "Running"
	})
	if insts := d.instances("web"); insts[0].Restarts != 0 {
		t.Fatalf("after a clean stop web-0 shows %d restarts, want 0", insts[0].Restarts)
	}
}
