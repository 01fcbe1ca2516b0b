package client

import (
	"errors"
	"strings"
	"testing"
	"time"

	"proclet.dev/proclet/apis/v1alpha1"
)

func describeFixture() *Description {
	app := mkApp("web", 2, "srv", "--greeting", "hello world")
	app.Metadata.Labels = map[string]string{"tier": "front", "example": "true"}
	app.Metadata.Generation = 3
	app.Spec.Env = []v1alpha1.EnvVar{{Name: "TOKEN", Value: "<redacted>"}, {Name: "MODE", Value: "<redacted>"}}
	app.Spec.Ports = []v1alpha1.PortSpec{{Name: "http", Port: 8000}, {Name: "admin", Range: "9100-9199"}}
	app.Spec.ReadinessProbe = &v1alpha1.Probe{ProbeHandler: v1alpha1.ProbeHandler{
		HTTPGet: &v1alpha1.HTTPGetAction{Path: "/healthz", Port: v1alpha1.FromString("http")}}}
	app.Spec.LivenessProbe = &v1alpha1.Probe{ProbeHandler: v1alpha1.ProbeHandler{
		Exec: &v1alpha1.ExecAction{Command: []string{"check", "--quick"}}}, InitialDelaySeconds: 5}
	v1alpha1.Default(&app)
	app.Status = &v1alpha1.AppStatus{Replicas: 2, ReadyReplicas: 1, UpdatedReplicas: 2, AvailableReplicas: 1,
		Revision: "4f1c2a9b0e", ObservedGeneration: 3, Source: "web.yaml",
		Conditions: []v1alpha1.Condition{
			{Type: "Available", Status: "False", Reason: "MinimumReplicasUnavailable", Message: "1 of 2 available",
				LastTransitionTime: tableNow.Add(-2 * time.Minute)},
			{Type: "ManifestValid", Status: "True", LastTransitionTime: tableNow.Add(-3 * time.Hour)},
		}}
	return &Description{
		App: app,
		Instances: []v1alpha1.Instance{
			{Name: "web-0", App: "web", Phase: "Running", Ready: true, PID: 100, Ports: map[string]int32{"http": 8000},
				StartedAt: ago(3 * time.Hour), CPUPercent: 0.2, MemoryBytes: 5 << 20},
			{Name: "web-1", App: "web", Phase: "Pending", Reason: "CrashLoopBackOff", Restarts: 2,
				LastExit: &v1alpha1.ExitStatus{Code: 1, At: tableNow.Add(-30 * time.Second)}},
		},
		Events: []v1alpha1.Event{
			{Time: tableNow.Add(-30 * time.Second), Type: "Warning", Reason: "BackOff", Object: "web-1", Message: "restarting in 2s"},
			{Time: tableNow.Add(-3 * time.Hour), Type: "Normal", Reason: "Started", Object: "web-0", Message: "started pid 100"},
		},
	}
}

func TestDescribe(t *testing.T) {
	var b strings.Builder
	if err := Describe(&b, describeFixture(), tableNow); err != nil {
		t.Fatal(err)
	}
	want := `Name:             web
Labels:           example=true,tier=front
Source:           web.yaml
Generation:       3
Revision:         4f1c2a9b0e
Replicas:         2 desired | 2 updated | 1 ready | 1 available | 2 running
Command:          srv --greeting "hello world"
Restart policy:   Always (backoff 1s to 5m0s, reset after 10m0s)
Strategy:         RollingUpdate (maxSurge 25%, maxUnavailable 25%), progressDeadlineSeconds 600
Stop:             SIGTERM, grace 30s
Ports:            http 8000, admin 9100-9199
Env:              TOKEN, MODE (values not shown)
Readiness probe:  http-get HTTP :http/healthz delay=0s timeout=1s period=10s #success=1 #failure=3
Liveness probe:   exec check --quick delay=5s timeout=1s period=10s #success=1 #failure=3
Conditions:
  TYPE            STATUS   REASON                       AGE   MESSAGE
  Available       False    MinimumReplicasUnavailable   2m    1 of 2 available
  ManifestValid   True     -                            3h    -
Instances:
  NAME    PHASE                        READY   PID   PORTS       RESTARTS      CPU    MEM   AGE
  web-0   Running                      true    100   http:8000   0             0.2%   5Mi   3h
  web-1   Pending (CrashLoopBackOff)   false   -     -           2 (30s ago)   -      -     -
Events:
  AGE   TYPE      REASON    OBJECT   MESSAGE
  30s   Warning   BackOff   web-1    restarting in 2s
  3h    Normal    Started   web-0    started pid 100
`
	if got := b.String(); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

// TestDescribe_Sockets: an app with sockets shows each one's address.
func TestDescribe_Sockets(t *testing.T) {
	d := describeFixture()
	d.App.Spec.Sockets = []v1alpha1.SocketSpec{{Name: "http", Port: 8080}, {Name: "all", Port: 8443, Host: "::"}}
	var b strings.Builder
	if err := Describe(&b, d, tableNow); err != nil {
		t.Fatal(err)
	}
	if want := "Sockets:          http 127.0.0.1:8080, all [::]:8443\n"; !strings.Contains(b.String(), want) {
		t.Errorf("output lacks %q:\n%s", want, b.String())
	}
}

func TestDescribe_StaleStatusAndMissingEvents(t *testing.T) {
	d := describeFixture()
	d.App.Metadata.Generation = 4
	d.Instances, d.Events = nil, nil
	d.EventsErr = errors.New("no such path: /api/v1/events")
	d.App.Status.Conditions = nil
	var b strings.Builder
	if err := Describe(&b, d, tableNow); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"Generation:       4 (status is of generation 3: an edit is not applied yet)\n",
		"Conditions:       <none>\nInstances:        <none>\nEvents:           <unavailable: no such path: /api/v1/events>\n",
	} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, b.String())
		}
	}
}
