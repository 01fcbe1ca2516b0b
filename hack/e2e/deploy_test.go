package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestDeployNewBinaryThroughASocket is deploy day end to end: 3 replicas
// of an app serve on one inherited socket with rolloutOnChange on their
// executable; a new build renamed over the executable (as deploy tools
// do) rolls the app with a surge, and not one request of a client loop
// fails.
func TestDeployNewBinaryThroughASocket(t *testing.T) {
	skipShort(t)
	dir := t.TempDir()
	data, err := os.ReadFile(bins.workload)
	if err != nil {
		t.Fatal(err)
	}
	exe := filepath.Join(dir, "server")
	if err := os.WriteFile(exe, data, 0o755); err != nil {
		t.Fatal(err)
	}
	port := int32(freePort(t))
	writeFile(t, filepath.Join(dir, "web.yaml"), fmt.Sprintf(`apiVersion: proclet.dev/v1alpha1
kind: App
metadata: {name: web}
spec:
  replicas: 3
  command: ["./server", "--socket", "http"]
  sockets: [{name: http, port: %d}]
  rolloutOnChange: {executable: true}
  minReadySeconds: 1
  strategy:
    rollingUpdate: {maxSurge: 1, maxUnavailable: 0}
`, port))
	d := startDaemon(t, dir)
	old := threeAvailable(t, d)
	c := startClients(port, 4)
	c.warm(t)

	// The next build: other bytes (a trailer the ELF loader ignores),
	// written beside the old one, then renamed over it.
	next := filepath.Join(dir, ".server.new")
	if err := os.WriteFile(next, append(data, []byte("\nbuild 2\n")...), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(next, exe); err != nil {
		t.Fatal(err)
	}
	t0 := time.Now()
	rolledOut(t, d, old)
	t.Logf("rolled to the new binary in %s", time.Since(t0))
	c.end(t)
	for _, e := range d.events("web") {
		if e.Reason == "ContentChanged" && strings.Contains(e.Message, "server") {
			return
		}
	}
	t.Fatalf("no ContentChanged event naming the executable: %+v", d.events("web"))
}
