package e2e

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"proclet.dev/proclet/apis/v1alpha1"
)

// proclet runs the built CLI and returns its exit code and output.
func proclet(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	cmd := exec.Command(bins.proclet, args...)
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return 0, out.String(), errOut.String()
	case errors.As(err, &ee):
		return ee.ExitCode(), out.String(), errOut.String()
	}
	t.Fatalf("proclet %v: %v", args, err)
	return 0, "", ""
}

// probedApp is appManifest with a comment, a port, a readiness probe on
// /healthz, a surge-only rolling update and a progress deadline.
func probedApp(name, ports string, replicas, deadline int, args ...string) string {
	m := strings.Replace(appManifest(name, replicas, args...), "spec:\n", "# restarts go through the annotation\nspec:\n", 1)
	return m + fmt.Sprintf(`  ports:
    - name: http
      range: %q
  readinessProbe:
    httpGet: {path: /healthz, port: http}
    periodSeconds: 1
  strategy:
    type: RollingUpdate
    rollingUpdate: {maxSurge: 1, maxUnavailable: 0}
  progressDeadlineSeconds: %d
`, ports, deadline)
}

var revisionFlag = regexp.MustCompile(`--revision ([0-9a-f]{10})\n`)

// TestRolloutRestartRollsToANewRevision: `rollout restart` edits the
// manifest (keeping its comment), the daemon rolls every instance to the
// new revision, and `rollout status` follows it to the end.
func TestRolloutRestartRollsToANewRevision(t *testing.T) {
	skipShort(t)
	dir := t.TempDir()
	file := filepath.Join(dir, "web.yaml")
	writeFile(t, file, probedApp("web", "21600-21609", 2, 60, "--exit-after", "1h"))
	d := startDaemon(t, dir)
	code, out, errOut := proclet(t, "rollout", "status", "web", "--server", d.base, "--timeout", "30s")
	if code != 0 || !strings.HasSuffix(out, "app \"web\" successfully rolled out\n") {
		t.Fatalf("first rollout: exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	before, _ := d.app("web")
	oldUIDs := map[string]bool{}
	for _, in := range d.instances("web") {
		oldUIDs[in.UID] = true
	}

	code, out, errOut = proclet(t, "rollout", "restart", "web", "--manifests", dir)
	m := revisionFlag.FindStringSubmatch(out)
	if code != 0 || m == nil {
		t.Fatalf("restart: exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	rev := m[1]
	if rev == before.Status.Revision {
		t.Fatalf("restart kept revision %s", rev)
	}
	data, _ := os.ReadFile(file)
	if !strings.Contains(string(data), "# restarts go through the annotation\n") ||
		!regexp.MustCompile(`\n  annotations:\n    proclet.dev/restartedAt: "\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ"\n  name: web\n`).Match(data) {
		t.Fatalf("edited file:\n%s", data)
	}

	code, out, errOut = proclet(t, "rollout", "status", "web", "--server", d.base, "--revision", rev, "--timeout", "60s")
	if code != 0 || !strings.HasSuffix(out, "app \"web\" successfully rolled out\n") {
		t.Fatalf("restart rollout: exit %d\nstdout:\n%s\nstderr:\n%s\ndaemon:\n%s", code, out, errOut, d.logs)
	}
	after, _ := d.app("web")
	if after.Status.Revision != rev || after.Metadata.Annotations[v1alpha1.RestartedAtAnnotation] == "" {
		t.Fatalf("app after the restart: revision %s (want %s), annotations %v", after.Status.Revision, rev, after.Metadata.Annotations)
	}
	running := 0
	for _, in := range d.instances("web") {
		if in.Phase != v1alpha1.PhaseRunning {
			continue
		}
		running++
		if in.Revision != rev || oldUIDs[in.UID] {
			t.Fatalf("instance %s (uid %s) at revision %s after the rollout to %s", in.Name, in.UID, in.Revision, rev)
		}
	}
	if running != 2 {
		t.Fatalf("%d running instances after the rollout, want 2", running)
	}
}

// TestRolloutStatusFailsOnAStalledRollout: an app whose readiness never
// passes makes `rollout status` fail once its progress deadline passes,
// or at --timeout, whichever comes first; an unknown app fails at once.
func TestRolloutStatusFailsOnAStalledRollout(t *testing.T) {
	skipShort(t)
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "stalled.yaml"), probedApp("stalled", "21610-21614", 1, 2, "--ready-after", "1h"))
	writeFile(t, filepath.Join(dir, "slow.yaml"), probedApp("slow", "21615-21619", 1, 600, "--ready-after", "1h"))
	d := startDaemon(t, dir)

	start := time.Now()
	code, out, errOut := proclet(t, "rollout", "status", "stalled", "--server", d.base, "--timeout", "60s")
	if code != 1 || !strings.Contains(errOut, `proclet rollout status: app "stalled" exceeded its progress deadline: revision `) {
		t.Fatalf("stalled: exit %d after %s\nstdout:\n%s\nstderr:\n%s", code, time.Since(start), out, errOut)
	}
	if !strings.Contains(out, "Waiting for rollout to finish: 0 of 1 updated replicas are available...") && !strings.Contains(out, "0 out of 1 new replicas") {
		t.Fatalf("stalled: no progress line before the failure:\n%s", out)
	}

	start = time.Now()
	code, _, errOut = proclet(t, "rollout", "status", "slow", "--server", d.base, "--timeout", "1s")
	if code != 1 || !strings.Contains(errOut, `timed out after 1s waiting for the rollout of app "slow"`) {
		t.Fatalf("--timeout: exit %d, stderr %q", code, errOut)
	}
	if took := time.Since(start); took > 10*time.Second {
		t.Fatalf("--timeout 1s took %s", took)
	}

	code, _, errOut = proclet(t, "rollout", "status", "nope", "--server", d.base)
	if code != 1 || !strings.Contains(errOut, `app "nope" not found`) {
		t.Fatalf("unknown app: exit %d, stderr %q", code, errOut)
	}
}

// TestRolloutRestartRefusesASyncedLink: a manifests folder reached through
// a git-sync style link is not edited; the change to commit is printed.
func TestRolloutRestartRefusesASyncedLink(t *testing.T) {
	skipShort(t)
	root := t.TempDir()
	rev := filepath.Join(root, "rev-4f2a9c1")
	manifest := appManifest("web", 1, "--exit-after", "1h")
	writeFile(t, filepath.Join(rev, "web.yaml"), manifest)
	link := filepath.Join(root, "current")
	if err := os.Symlink("rev-4f2a9c1", link); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := proclet(t, "rollout", "restart", "web", "--manifests", link)
	if code == 0 || out != "" || !strings.Contains(errOut, "reached through the symlink "+link) ||
		!regexp.MustCompile(`web\.yaml:4\n\+  annotations:\n\+    proclet\.dev/restartedAt: "[^"]+"\n`).MatchString(errOut) {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	if got, _ := os.ReadFile(filepath.Join(rev, "web.yaml")); string(got) != manifest {
		t.Fatalf("the synced file was changed:\n%s", got)
	}
}
