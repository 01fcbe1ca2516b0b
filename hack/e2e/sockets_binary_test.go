package e2e

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestSocketShimAfterBinaryReplaced: the exec shim is the binary the
// daemon runs, not the file at its path: with that file replaced by a
// script that fails (a deploy writing the next release), a new instance
// still starts through the shim, with LISTEN_PID its own PID.
func TestSocketShimAfterBinaryReplaced(t *testing.T) {
	skipShort(t)
	bin := filepath.Join(t.TempDir(), "proclet")
	data, err := os.ReadFile(bins.proclet)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bin, data, 0o755); err != nil {
		t.Fatal(err)
	}
	dir, state := t.TempDir(), t.TempDir()
	t.Cleanup(func() { removeRunDir(state) })
	port := int32(freePort(t))
	manifest := func(replicas int) string {
		return fmt.Sprintf(`apiVersion: proclet.dev/v1alpha1
kind: App
metadata: {name: web}
spec:
  replicas: %d
  command: [%q, "--socket", "http"]
  sockets: [{name: http, port: %d}]
`, replicas, bins.workload, port)
	}
	writeFile(t, filepath.Join(dir, "web.yaml"), manifest(1))
	listen := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	cmd := exec.Command(bin, "run", "--manifests", dir, "--state-dir", state, "--listen", listen)
	cmd.Stdout, cmd.Stderr = io.Discard, io.Discard
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	d := &daemon{t: t, cmd: cmd, base: "http://" + listen, manifests: dir, stateDir: state, logs: &logBuffer{}, exited: make(chan struct{})}
	go func() { _ = cmd.Wait(); close(d.exited) }()
	t.Cleanup(func() { d.stop(); d.killInstances() })
	eventually(t, 30*time.Second, "the daemon ready", func() bool {
		code, _ := d.getJSON("/readyz", nil)
		return code == 200
	})
	eventually(t, 15*time.Second, "web-0 running", func() bool { return len(d.runningPIDs("web")) == 1 })

	// The next release lands on the daemon's path (a rename over it, as
	// deploy tools do); its old inode is gone from the folder.
	next := bin + ".next"
	if err := os.WriteFile(next, []byte("#!/bin/sh\nexit 1\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(next, bin); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "web.yaml"), manifest(2))
	var pid int
	eventually(t, 15*time.Second, "web-1 running", func() bool {
		pid = d.runningPIDs("web")["web-1"]
		return pid > 0
	})
	// web-1 serves on the socket only if LISTEN_PID is its PID (the
	// workload checks); answers come from both instances.
	seen := map[string]bool{}
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	eventually(t, 15*time.Second, "an answer from web-1 (pid "+strconv.Itoa(pid)+")", func() bool {
		resp, err := client.Get(fmt.Sprintf("http://127.0.0.1:%d/", port))
		if err != nil {
			return false
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		seen[strings.TrimSpace(string(b))] = true
		return seen[fmt.Sprintf("instance=web-1 pid=%d", pid)]
	})
}
