package e2e

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestRolloutCrashingRevisionBacksOff rolls one instance (maxSurge 1,
// maxUnavailable 0, minReadySeconds 1) to a revision that exits 200 ms
// after each start. The surge replacement must be restarted through the
// backoff (0, 1 s, 2 s ...) like any other instance, not started again at
// once each time it exits while the old instance serves.
func TestRolloutCrashingRevisionBacksOff(t *testing.T) {
	skipShort(t)
	dir := t.TempDir()
	file := filepath.Join(dir, "web.yaml")
	manifest := func(args string) string {
		return fmt.Sprintf(`apiVersion: proclet.dev/v1alpha1
kind: App
metadata:
  name: web
spec:
  replicas: 1
  command: [%q%s]
  minReadySeconds: 1
  restartBackoff: {initial: 1s, max: 1m}
  terminationGracePeriodSeconds: 5
  strategy:
    type: RollingUpdate
    rollingUpdate: {maxSurge: 1, maxUnavailable: 0}
`, bins.workload, args)
	}
	writeFile(t, file, manifest(""))
	d := startDaemon(t, dir)
	eventually(t, 15*time.Second, "web-0 available", func() bool {
		a, ok := d.app("web")
		return ok && a.Status != nil && a.Status.AvailableReplicas == 1
	})
	writeFile(t, file, manifest(`, "--exit-after", "200ms", "--exit-code", "1"`))
	var starts []time.Time
	eventually(t, 30*time.Second, "four starts of the crashing revision", func() bool {
		starts = d.newRevisionStarts("web")
		return len(starts) >= 4
	})
	// The first crash restarts at once, the second after 1 s, the third
	// after 2 s; each gap is the run (200 ms) plus the delay, at least.
	for i, want := range map[int]time.Duration{2: time.Second, 3: 2 * time.Second} {
		if gap := starts[i].Sub(starts[i-1]); gap < want {
			t.Errorf("start %d came %v after start %d, want at least the %v backoff; starts %v", i+1, gap, i, want, starts)
		}
	}
	if a, _ := d.app("web"); a.Status.AvailableReplicas != 1 {
		t.Errorf("the old instance stopped serving: %+v", a.Status)
	}
}

// newRevisionStarts are the times of the Started events of app's instances
// at its current revision, oldest first.
func (d *daemon) newRevisionStarts(app string) []time.Time {
	d.t.Helper()
	a, ok := d.app(app)
	if !ok || a.Status == nil {
		return nil
	}
	var events struct {
		Items []struct {
			Time    time.Time `json:"time"`
			Reason  string    `json:"reason"`
			Message string    `json:"message"`
		} `json:"items"`
	}
	if code, err := d.getJSON("/api/v1/events?app="+app+"&limit=1000", &events); err != nil || code != 200 {
		d.t.Fatalf("events: %d %v", code, err)
	}
	var out []time.Time
	for _, e := range events.Items {
		if e.Reason == "Started" && strings.Contains(e.Message, "revision "+a.Status.Revision) {
			out = append(out, e.Time)
		}
	}
	slices.SortFunc(out, time.Time.Compare)
	return out
}

// TestLivenessKillRestartsUnderOnFailure runs an instance whose /healthz
// fails a second after it starts, under restartPolicy OnFailure. The
// liveness probe kills it; it exits 0 on SIGTERM. The kill is a failure
// (as in Kubernetes, the reason decides, not the exit code): it must be
// restarted, not reported Succeeded and left down.
func TestLivenessKillRestartsUnderOnFailure(t *testing.T) {
	skipShort(t)
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "web.yaml"), fmt.Sprintf(`apiVersion: proclet.dev/v1alpha1
kind: App
metadata:
  name: web
spec:
  command: [%q, "--healthz-fail-after", "1s"]
  restartPolicy: OnFailure
  ports:
    - name: http
      range: "21340-21349"
  livenessProbe:
    httpGet: {path: /healthz, port: http}
    periodSeconds: 1
    failureThreshold: 1
  terminationGracePeriodSeconds: 5
`, bins.workload))
	d := startDaemon(t, dir)
	eventually(t, 30*time.Second, "web-0 restarted after its liveness kill", func() bool {
		for _, i := range d.instances("web") {
			if i.Phase == "Succeeded" {
				t.Fatalf("a liveness kill reported as success: %+v", i)
			}
			if i.Restarts >= 1 && i.LastExit != nil && i.LastExit.Reason == "LivenessProbeFailed" {
				return true
			}
		}
		return false
	})
	for _, i := range d.instances("web") {
		if i.LastExit != nil && i.LastExit.Code != 0 {
			t.Logf("note: the workload exited %d, not 0, on SIGTERM: %+v", i.LastExit.Code, i.LastExit)
		}
	}
}
