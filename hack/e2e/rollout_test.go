package e2e

import (
	"fmt"
	"net/http"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func rolloutManifest(workload, marker string) string {
	return fmt.Sprintf(`apiVersion: proclet.dev/v1alpha1
kind: App
metadata:
  name: web
spec:
  replicas: 3
  command: [%q, "--exit-code", %q]
  ports:
    - name: http
      range: "21300-21309"
  readinessProbe:
    httpGet: {path: /healthz, port: http}
    periodSeconds: 1
  lifecycle:
    preStop:
      exec: {command: ["sleep", "1"]}
  terminationGracePeriodSeconds: 5
  strategy:
    type: RollingUpdate
    rollingUpdate: {maxSurge: 1, maxUnavailable: 0}
`, workload, marker)
}

// TestZeroDowntimeRollout rolls a 3-instance app with a readiness probe and
// maxUnavailable 0 while a client keeps requesting every ready instance the
// API lists. Not one request may fail, and the rollout must end with three
// updated, ready instances on distinct ports.
func TestZeroDowntimeRollout(t *testing.T) {
	skipShort(t)
	dir := t.TempDir()
	file := filepath.Join(dir, "web.yaml")
	writeFile(t, file, rolloutManifest(bins.workload, "1"))
	d := startDaemon(t, dir)
	ready := func() map[string]int32 {
		out := map[string]int32{}
		for _, i := range d.instances("web") {
			if i.Ready && i.Phase == "Running" {
				out[i.UID] = i.Ports["http"]
			}
		}
		return out
	}
	eventually(t, 15*time.Second, "three ready instances", func() bool { return len(ready()) == 3 })

	var requests, failures atomic.Int64
	var firstErr atomic.Value
	stop := make(chan struct{})
	var wg sync.WaitGroup
	client := &http.Client{Timeout: 2 * time.Second}
	wg.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
			}
			for _, port := range ready() {
				resp, err := client.Get(fmt.Sprintf("http://127.0.0.1:%d/", port))
				requests.Add(1)
				if err == nil {
					resp.Body.Close()
				}
				if err != nil || resp.StatusCode != 200 {
					failures.Add(1)
					firstErr.CompareAndSwap(nil, fmt.Sprintf("port %d: %v", port, err))
				}
			}
			time.Sleep(20 * time.Millisecond) // the client's request pace
		}
	})

	writeFile(t, file, rolloutManifest(bins.workload, "2"))
	var newRev string
	eventually(t, 60*time.Second, "three updated, ready instances and no old one", func() bool {
		var app struct {
			Metadata struct {
				Generation int `json:"generation"`
			} `json:"metadata"`
			Status struct {
				ObservedGeneration int    `json:"observedGeneration"`
				Revision           string `json:"revision"`
				UpdatedReplicas    int    `json:"updatedReplicas"`
				ReadyReplicas      int    `json:"readyReplicas"`
				Replicas           int    `json:"replicas"`
			} `json:"status"`
		}
		if _, err := d.getJSON("/api/v1/apps/web", &app); err != nil {
			return false
		}
		newRev = app.Status.Revision
		insts := d.instances("web")
		return app.Metadata.Generation == 2 && app.Status.ObservedGeneration == 2 &&
			app.Status.UpdatedReplicas == 3 && app.Status.ReadyReplicas == 3 && app.Status.Replicas == 3 && len(insts) == 3
	})
	close(stop)
	wg.Wait()

	ports := map[int32]bool{}
	for _, i := range d.instances("web") {
		if i.Revision != newRev || !i.Ready || ports[i.Ports["http"]] {
			t.Fatalf("after the rollout: %+v", d.instances("web"))
		}
		ports[i.Ports["http"]] = true
	}
	if failures.Load() > 0 {
		t.Fatalf("%d of %d requests failed during the rollout; first: %v", failures.Load(), requests.Load(), firstErr.Load())
	}
	if requests.Load() < 30 {
		t.Fatalf("only %d requests during the rollout: the test did not test much", requests.Load())
	}
	t.Logf("%d requests, none failed", requests.Load())
}
