package e2e

import (
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"proclet.dev/proclet/apis/v1alpha1"
)

// notifyManifest is an app of one workload instance with the given
// probes (YAML lines under spec) and workload arguments.
func notifyManifest(name, probes string, args ...string) string {
	q := []string{strconv.Quote(bins.workload)}
	for _, a := range args {
		q = append(q, strconv.Quote(a))
	}
	return fmt.Sprintf(`apiVersion: proclet.dev/v1alpha1
kind: App
metadata:
  name: %s
spec:
  command: [%s]
  terminationGracePeriodSeconds: 5
%s`, name, strings.Join(q, ", "), probes)
}

// instance0 is the app's instance 0, and whether the daemon shows it.
func (d *daemon) instance0(app string) (v1alpha1.Instance, bool) {
	for _, i := range d.instances(app) {
		if i.Name == app+"-0" {
			return i, true
		}
	}
	return v1alpha1.Instance{}, false
}

// events are the messages of app's events of reason.
func (d *daemon) eventMessages(app, reason string) []string {
	d.t.Helper()
	var events struct {
		Items []struct {
			Reason  string `json:"reason"`
			Message string `json:"message"`
		} `json:"items"`
	}
	if code, err := d.getJSON("/api/v1/events?app="+app+"&limit=1000", &events); err != nil || code != 200 {
		d.t.Fatalf("events: %d %v", code, err)
	}
	var out []string
	for _, e := range events.Items {
		if e.Reason == reason {
			out = append(out, e.Message)
		}
	}
	return out
}

// TestNotifyReadiness: an app that sends READY=1 one second after its
// start is Ready then, not before; its STATUS= is the instance's message;
// the READY=1 counts as a readiness probe success in the metrics.
func TestNotifyReadiness(t *testing.T) {
	skipShort(t)
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "web.yaml"), notifyManifest("web", "  readinessProbe: {notify: {}}\n",
		"--notify-ready-after", "1s", "--notify-status", "serving"))
	d := startDaemon(t, dir)
	var readyAt time.Time
	var inst v1alpha1.Instance
	eventually(t, 20*time.Second, "web-0 ready", func() bool {
		i, ok := d.instance0("web")
		if ok && i.Ready && i.StartedAt != nil {
			readyAt, inst = time.Now(), i
			return true
		}
		return false
	})
	if early := readyAt.Sub(*inst.StartedAt); early < time.Second {
		t.Errorf("ready %v after the start: before its READY=1 (1 s)", early)
	}
	if inst.Message != "serving" {
		t.Errorf("message %q, want the STATUS=, \"serving\"", inst.Message)
	}
	a, _ := d.app("web")
	if a.Status == nil || a.Status.ReadyReplicas != 1 {
		t.Errorf("app status %+v, want 1 ready replica", a.Status)
	}
	metrics := d.get("/metrics")
	found := false
	for _, line := range strings.Split(metrics, "\n") {
		if strings.HasPrefix(line, "proclet_probe_results_total{") && strings.Contains(line, `app="web"`) &&
			strings.Contains(line, `probe="readiness"`) && strings.Contains(line, `result="success"`) {
			found = strings.HasSuffix(line, " 1")
		}
	}
	if !found {
		t.Errorf("no readiness success counted in the metrics:\n%s", metrics)
	}
}

// TestNotifyWatchdogRestarts: pings that stop restart the instance
// (restart count up, the event says why); WATCHDOG=trigger restarts it at
// once, long before its period.
func TestNotifyWatchdogRestarts(t *testing.T) {
	skipShort(t)
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "stall.yaml"), notifyManifest("stall",
		"  livenessProbe: {notify: {}, periodSeconds: 1, failureThreshold: 2}\n",
		"--notify-watchdog", "--notify-watchdog-stop-after", "2s"))
	writeFile(t, filepath.Join(dir, "trig.yaml"), notifyManifest("trig",
		"  livenessProbe: {notify: {}, periodSeconds: 60}\n",
		"--notify-watchdog", "--notify-trigger-after", "500ms"))
	d := startDaemon(t, dir)
	begin := time.Now()
	restarted := func(app string) bool {
		i, ok := d.instance0(app)
		return ok && i.Restarts >= 1 && i.LastExit != nil && i.LastExit.Reason == "LivenessProbeFailed"
	}
	eventually(t, 20*time.Second, "trig-0 restarted by WATCHDOG=trigger", func() bool { return restarted("trig") })
	if took := time.Since(begin); took > 15*time.Second {
		t.Errorf("WATCHDOG=trigger restarted it after %v: not at once (its period is 60 s)", took)
	}
	eventually(t, 30*time.Second, "stall-0 restarted by its stalled watchdog", func() bool { return restarted("stall") })
	for app, why := range map[string]string{"trig": "WATCHDOG=trigger", "stall": "no WATCHDOG=1 for"} {
		found := false
		for _, m := range d.eventMessages(app, "Stopping") {
			found = found || strings.Contains(m, "liveness probe: "+why)
		}
		if !found {
			t.Errorf("%s: no Stopping event saying %q: %q", app, why, d.eventMessages(app, "Stopping"))
		}
	}
}

// TestNotifyAcrossDaemonRestart: after a kill -9 of the daemon and a new
// daemon on the same state dir, the adopted instance (same PID) still
// reaches it: its STATUS= ticks go on, and its READY=1, sent after the
// restart, makes it ready.
func TestNotifyAcrossDaemonRestart(t *testing.T) {
	skipShort(t)
	dir, state := t.TempDir(), t.TempDir()
	writeFile(t, filepath.Join(dir, "web.yaml"), notifyManifest("web", "  readinessProbe: {notify: {}}\n",
		"--notify-ready-after", "6s", "--notify-status-every", "200ms"))
	d := startDaemonOn(t, dir, state)
	var before v1alpha1.Instance
	eventually(t, 20*time.Second, "web-0 ticking", func() bool {
		i, ok := d.instance0("web")
		before = i
		return ok && strings.HasPrefix(i.Message, "tick ") && i.PID > 0
	})
	if before.Ready {
		t.Fatal("ready before its READY=1")
	}
	if want := "notify_socket=" + filepath.Join(state, "notify.sock"); !strings.Contains(d.logs.String(), want) {
		t.Errorf("the start log does not say %s:\n%s", want, d.logs)
	}
	if err := d.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	<-d.exited
	tick := func(i v1alpha1.Instance) int {
		n, _ := strconv.Atoi(strings.TrimPrefix(i.Message, "tick "))
		return n
	}
	last := tick(before)
	d = startDaemonOn(t, dir, state)
	eventually(t, 10*time.Second, "a STATUS= tick after the restart", func() bool {
		i, ok := d.instance0("web")
		return ok && i.PID == before.PID && tick(i) > last+2
	})
	eventually(t, 20*time.Second, "web-0 ready from its READY=1", func() bool {
		i, ok := d.instance0("web")
		return ok && i.Ready
	})
	if i, _ := d.instance0("web"); i.PID != before.PID || i.Restarts != 0 {
		t.Errorf("instance %+v, want the adopted pid %d, never restarted", i, before.PID)
	}
}
