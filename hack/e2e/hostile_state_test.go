package e2e

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"proclet.dev/proclet/apis/v1alpha1"
	"proclet.dev/proclet/internal/hostile"
	rtexec "proclet.dev/proclet/runtime/exec"
)

// TestHostileStateFiles: each state file (instances.json, ports.json,
// reconciler.json) replaced, while no daemon runs, by a sparse 4 GiB file,
// a link to /dev/zero, a FIFO or a folder. Each time the next daemon
// starts (no hang, no memory blow-up), logs the file and what is wrong
// with it, moves it aside, and adopts the running instances: the same
// processes, none lost, none started twice.
func TestHostileStateFiles(t *testing.T) {
	skipShort(t)
	const n = 3
	dir, state := t.TempDir(), t.TempDir()
	writeFile(t, filepath.Join(dir, "web.yaml"), fmt.Sprintf(`apiVersion: proclet.dev/v1alpha1
kind: App
metadata:
  name: web
spec:
  replicas: %d
  command: [%q]
  ports:
    - name: http
      range: "21400-21499"
  terminationGracePeriodSeconds: 5
`, n, bins.workload))
	d := startDaemonOn(t, dir, state)
	var want map[string]v1alpha1.Instance
	eventually(t, 20*time.Second, "3 running instances", func() bool {
		want = runningByName(d)
		return len(want) == n
	})
	files := []string{"instances.json", "ports.json", "reconciler.json"}
	for _, file := range files {
		eventually(t, 5*time.Second, "every instance in "+file, func() bool {
			data, _ := os.ReadFile(filepath.Join(state, file))
			for _, i := range want {
				if !bytes.Contains(data, []byte(i.UID)) {
					return false
				}
			}
			return true
		})
	}
	for _, file := range files {
		for _, c := range hostile.Cases() {
			path := filepath.Join(state, file)
			if err := d.cmd.Process.Kill(); err != nil {
				t.Fatal(err)
			}
			<-d.exited
			c.Make(t, path)
			d = startDaemonOn(t, dir, state)
			var got map[string]v1alpha1.Instance
			eventually(t, 20*time.Second, file+" as a "+c.Name+": the instances adopted", func() bool {
				got = runningByName(d)
				return len(got) == n
			})
			for name, w := range want {
				if g := got[name]; g.PID != w.PID || g.UID != w.UID || g.Ports["http"] != w.Ports["http"] {
					t.Fatalf("%s as a %s: %s is pid %d uid %s port %d; want pid %d uid %s port %d\n%s", file, c.Name,
						name, g.PID, g.UID, g.Ports["http"], w.PID, w.UID, w.Ports["http"], d.logs)
				}
			}
			if all := d.instances("web"); len(all) != n {
				t.Fatalf("%s as a %s: %d instances, want %d: %+v", file, c.Name, len(all), n, all)
			}
			if pids := markedPIDs(state); len(pids) != n {
				t.Fatalf("%s as a %s: %d processes of the state dir, want %d", file, c.Name, len(pids), n)
			}
			logs := d.logs.String()
			if !strings.Contains(logs, path) || !strings.Contains(logs, c.Says) || !strings.Contains(logs, "moved_to="+path+".bad-") {
				t.Fatalf("%s as a %s: the log does not say so (%q) or where it went:\n%s", file, c.Name, c.Says, logs)
			}
			// A good file is back in its place before the next round.
			eventually(t, 5*time.Second, file+" written again", func() bool {
				fi, err := os.Lstat(path)
				return err == nil && fi.Mode().IsRegular()
			})
		}
	}
}

// TestRefusedRunDirIsWarned: a default run dir on the tmpfs that others
// may write in is not used, and the daemon says which, why, and what it
// uses instead.
func TestRefusedRunDirIsWarned(t *testing.T) {
	skipShort(t)
	state := t.TempDir()
	bad := rtexec.TmpfsRunDir(state)
	if bad == "" {
		t.Skip("no tmpfs run dir here")
	}
	if err := os.Chmod(bad, 0o777); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Remove(bad) })
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "web.yaml"), appManifest("web", 1))
	d := startDaemonOn(t, dir, state)
	eventually(t, 20*time.Second, "1 running instance", func() bool { return len(runningByName(d)) == 1 })
	logs := d.logs.String()
	if !strings.Contains(logs, `level=WARN msg="not using a default run dir"`) || !strings.Contains(logs, bad+" has mode 0777") ||
		!strings.Contains(logs, "using=") {
		t.Fatalf("no warning naming %s and why:\n%s", bad, logs)
	}
	if entries, _ := os.ReadDir(bad); len(entries) != 0 {
		t.Fatalf("the refused run dir was used: %v", entries)
	}
}
