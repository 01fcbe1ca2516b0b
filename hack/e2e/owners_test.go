package e2e

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"time"

	"proclet.dev/proclet/apis/v1alpha1"
)

// fileError is the error of one manifest file in /api/v1/manifests (nil
// when it has none or is not listed).
func (d *daemon) fileError(path string) *v1alpha1.FileError {
	d.t.Helper()
	var body struct {
		Items []v1alpha1.FileStatus `json:"items"`
	}
	if code, err := d.getJSON("/api/v1/manifests", &body); code != 200 || err != nil {
		d.t.Fatalf("manifests: %d %v", code, err)
	}
	for _, f := range body.Items {
		if f.Path == path {
			return f.Error
		}
	}
	return nil
}

// TRAP 4 across a restart: b.yaml defined web first, a.yaml defines it
// too. After a daemon restart b.yaml keeps the name: the adopted instances
// keep running unchanged, a.yaml reports DuplicateName.
func TestDuplicateNameOwnerSurvivesARestart(t *testing.T) {
	skipShort(t)
	dir, state := t.TempDir(), t.TempDir()
	writeFile(t, filepath.Join(dir, "b.yaml"), appManifest("web", 2, "from-b"))
	d := startDaemonOn(t, dir, state, "--on-exit", "keep")
	var pids map[string]int
	eventually(t, 10*time.Second, "two running instances", func() bool {
		pids = d.runningPIDs("web")
		return len(pids) == 2
	})
	writeFile(t, filepath.Join(dir, "a.yaml"), appManifest("web", 2, "from-a"))
	duplicate := func(d *daemon) bool {
		e := d.fileError("a.yaml")
		return e != nil && e.Reason == v1alpha1.ReasonDuplicateName
	}
	eventually(t, 10*time.Second, "a.yaml reports DuplicateName", func() bool { return duplicate(d) })
	gen := d.appGeneration("web")
	// The reconciler's state is saved on a change, within a second.
	eventually(t, 5*time.Second, "web in the saved state", func() bool {
		data, _ := os.ReadFile(filepath.Join(state, "reconciler.json"))
		return bytes.Contains(data, []byte(`"web":{`))
	})

	d.stop() // --on-exit keep: the instances stay, as for an upgrade
	d2 := startDaemonOn(t, dir, state)
	eventually(t, 10*time.Second, "a.yaml reports DuplicateName after the restart", func() bool { return duplicate(d2) })
	var now map[string]int
	eventually(t, 10*time.Second, "two running instances after the restart", func() bool {
		now = d2.runningPIDs("web")
		return len(now) == 2
	})
	if len(now) != 2 || now["web-0"] != pids["web-0"] || now["web-1"] != pids["web-1"] {
		t.Fatalf("instances after the restart: %v, were %v (rolled to a.yaml's spec?)", now, pids)
	}
	if got := d2.appGeneration("web"); got != gen {
		t.Fatalf("generation %d after the restart, was %d", got, gen)
	}
}
