package e2e

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"proclet.dev/proclet/apis/v1alpha1"
)

// fleetHost is one daemon of the fleet test: its own address, state dir,
// labels and branch, and the syncer that keeps its manifests folder on
// that branch.
type fleetHost struct {
	name   string // --node-name
	addr   string // ip:port
	labels string
	branch string
	root   string // the syncer's root; the daemon reads root/current
	state  string
	d      *daemon
}

// gitRepo is a bare repository and a clone the test commits from.
type gitRepo struct {
	bare, work string
}

func (r *gitRepo) git(t *testing.T, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", append([]string{"-C", r.work}, args...)...)
	cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=e2e", "GIT_AUTHOR_EMAIL=e2e@example.com",
		"GIT_COMMITTER_NAME=e2e", "GIT_COMMITTER_EMAIL=e2e@example.com")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

// commit writes files (name → content; "" removes it) on branch, commits
// and pushes; it returns the commit.
func (r *gitRepo) commit(t *testing.T, branch, msg string, files map[string]string) string {
	t.Helper()
	if r.git(t, "symbolic-ref", "--short", "HEAD") != branch {
		r.git(t, "checkout", "-q", branch)
	}
	for name, content := range files {
		p := filepath.Join(r.work, name)
		if content == "" {
			r.git(t, "rm", "-q", name)
			continue
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		r.git(t, "add", name)
	}
	r.git(t, "commit", "-qm", msg)
	r.git(t, "push", "-q", "origin", branch)
	return r.git(t, "rev-parse", "HEAD")
}

// syncerBinary is git-sync when it is on PATH, else hack/gitsync, built
// once into the test's bin folder.
var syncerBinary = sync.OnceValues(func() (string, error) {
	if p, err := exec.LookPath("git-sync"); err == nil {
		return p, nil
	}
	out := filepath.Join(bins.dir, "gitsync")
	cmd := exec.Command("go", "build", "-o", out, "proclet.dev/proclet/hack/gitsync")
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("building hack/gitsync: %v\n%s", err, b)
	}
	return out, nil
})

// startSyncer follows branch of repo into root (root/current), in its own
// process group, killed by the test's cleanup.
func startSyncer(t *testing.T, bare, branch, root string) {
	t.Helper()
	bin, err := syncerBinary()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "--repo", bare, "--ref", branch, "--root", root, "--link", "current", "--period", "300ms")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	var logs bytes.Buffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("syncer of %s:\n%s", branch, logs.String())
		}
	})
	eventually(t, 30*time.Second, "the first sync of "+branch, func() bool {
		_, err := os.Stat(filepath.Join(root, "current"))
		return err == nil
	})
}

// fleetWebManifest is app web on every host: one instance serving HTTP on
// a port of the range from lo, ready by its /healthz, with V=version.
func fleetWebManifest(lo int, version string) string {
	return fmt.Sprintf(`apiVersion: proclet.dev/v1alpha1
kind: App
metadata:
  name: web
spec:
  replicas: 1
  command: [%q]
  env: [{name: V, value: %q}]
  ports: [{name: http, range: "%d-%d"}]
  readinessProbe:
    httpGet: {path: /healthz, port: http}
    periodSeconds: 1
  terminationGracePeriodSeconds: 5
`, bins.workload, version, lo, lo+29)
}

// selectedManifest is an app that runs only where selector matches.
func selectedManifest(name, selector string) string {
	return fmt.Sprintf(`apiVersion: proclet.dev/v1alpha1
kind: App
metadata:
  name: %s
spec:
  replicas: 1
  command: [%q]
  nodeSelector: {%s}
  terminationGracePeriodSeconds: 5
`, name, bins.workload, selector)
}

// hostPIDs are the running instances' PIDs of every app on one host.
func hostPIDs(h *fleetHost, apps ...string) map[string]int {
	out := map[string]int{}
	for _, app := range apps {
		for name, pid := range h.d.runningPIDs(app) {
			out[name] = pid
		}
	}
	return out
}

// fleetPIDs are hostPIDs of every host, by address.
func fleetPIDs(hosts []*fleetHost) map[string]map[string]int {
	out := map[string]map[string]int{}
	for _, h := range hosts {
		out[h.addr] = hostPIDs(h, "web", "api", "zonal")
	}
	return out
}

// sourceAt reports whether app's status on h was read from commit.
func sourceAt(h *fleetHost, app, commit string) bool {
	a, ok := h.d.app(app)
	return ok && a.Status != nil && a.Status.SourceRevision == commit
}

// nodeOf is the NODE a fleet command shows for h: its --node-name, which
// GET /api/v1/node gives.
func nodeOf(h *fleetHost) string { return h.name }

func servers(hosts ...*fleetHost) string {
	addrs := make([]string, len(hosts))
	for i, h := range hosts {
		addrs[i] = h.addr
	}
	return strings.Join(addrs, ",")
}

func sameInstances(a, b map[string]int) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// webRevision is app web's revision on h.
func webRevision(h *fleetHost) string {
	a, ok := h.d.app("web")
	if !ok || a.Status == nil {
		return ""
	}
	return a.Status.Revision
}

// invalid reports whether h's app keeps its last good version beside an
// invalid manifest.
func invalid(h *fleetHost, app string) bool {
	a, ok := h.d.app(app)
	c, has := condition(a, v1alpha1.ConditionManifestValid)
	return ok && has && c.Status == v1alpha1.ConditionFalse
}
