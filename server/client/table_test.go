package client

import (
	"testing"
	"time"

	"proclet.dev/proclet/apis/v1alpha1"
)

var tableNow = time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)

func ago(d time.Duration) *time.Time {
	t := tableNow.Add(-d)
	return &t
}

func i32(v int32) *int32 { return &v }

func TestTable_AlignsLikeKubectl(t *testing.T) {
	tb := &Table{Header: []string{"NAME", "READY", "AGE"}}
	tb.Append("web", "2/3", "5m")
	tb.Append("a-much-longer-name", "0/1", "-")
	tb.Append("tab\tin", "1/1", "x")
	want := "" +
		"NAME                 READY   AGE\n" +
		"web                  2/3     5m\n" +
		"a-much-longer-name   0/1     -\n" +
		"tab in               1/1     x\n"
	if got := tb.String(); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

func TestAppTable(t *testing.T) {
	apps := []v1alpha1.App{
		{Metadata: v1alpha1.ObjectMeta{Name: "web"}, Spec: v1alpha1.AppSpec{Replicas: i32(3)},
			Status: &v1alpha1.AppStatus{ReadyReplicas: 2, UpdatedReplicas: 3, AvailableReplicas: 2}},
		{Metadata: v1alpha1.ObjectMeta{Name: "idle", CreationTimestamp: *ago(48 * time.Hour)}, Spec: v1alpha1.AppSpec{Replicas: i32(0)},
			Status: &v1alpha1.AppStatus{}},
		// The app's age, not its youngest or oldest instance's.
		{Metadata: v1alpha1.ObjectMeta{Name: "db", CreationTimestamp: *ago(200 * time.Hour)}, Spec: v1alpha1.AppSpec{Replicas: i32(1)},
			Status: &v1alpha1.AppStatus{ReadyReplicas: 1, UpdatedReplicas: 1, AvailableReplicas: 1}},
		{Metadata: v1alpha1.ObjectMeta{Name: "new"}}, // no status yet, replicas defaulted
	}
	insts := []v1alpha1.Instance{
		{Name: "web-0", App: "web", StartedAt: ago(5 * time.Minute)},
		{Name: "web-1", App: "web", StartedAt: ago(3 * time.Hour)},
		{Name: "web-2", App: "web"},
		{Name: "db-0", App: "db", StartedAt: ago(100 * time.Hour)},
	}
	want := "" +
		"NAME   READY   UP-TO-DATE   AVAILABLE   AGE\n" +
		"web    2/3     3            2           3h\n" +
		"idle   0/0     0            0           2d\n" +
		"db     1/1     1            1           8d\n" +
		"new    0/1     0            0           -\n"
	if got := AppTable(apps, insts, tableNow).String(); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

// TestAppTable_NotScheduled: an app whose nodeSelector does not match
// the daemon's node reads NotScheduled in READY.
func TestAppTable_NotScheduled(t *testing.T) {
	apps := []v1alpha1.App{
		{Metadata: v1alpha1.ObjectMeta{Name: "gpu"}, Spec: v1alpha1.AppSpec{Replicas: i32(2)},
			Status: &v1alpha1.AppStatus{State: v1alpha1.AppNotScheduled}},
		{Metadata: v1alpha1.ObjectMeta{Name: "web"}, Spec: v1alpha1.AppSpec{Replicas: i32(1)},
			Status: &v1alpha1.AppStatus{ReadyReplicas: 1, UpdatedReplicas: 1, AvailableReplicas: 1}},
	}
	want := "" +
		"NAME   READY          UP-TO-DATE   AVAILABLE   AGE\n" +
		"gpu    NotScheduled   0            0           -\n" +
		"web    1/1            1            1           -\n"
	if got := AppTable(apps, nil, tableNow).String(); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

func TestInstanceTable(t *testing.T) {
	insts := []v1alpha1.Instance{
		{Name: "web-0", App: "web", Phase: v1alpha1.PhaseRunning, Ready: true, PID: 4242,
			Ports: map[string]int32{"http": 8000, "admin": 9100}, StartedAt: ago(5 * time.Minute),
			CPUPercent: 1.53, MemoryBytes: 12 << 20},
		{Name: "web-1", App: "web", Phase: v1alpha1.PhasePending, Reason: "CrashLoopBackOff", Restarts: 5,
			LastExit: &v1alpha1.ExitStatus{Code: 1, At: tableNow.Add(-40 * time.Second)}},
		{Name: "web-2", App: "web", Phase: v1alpha1.PhaseTerminating, PID: 4250, Listening: []int32{8002},
			StartedAt: ago(50 * time.Hour), MemoryBytes: 900 << 10},
	}
	want := "" +
		"NAME    PHASE                        READY   PID    PORTS                  RESTARTS      CPU    MEM     AGE\n" +
		"web-0   Running                      true    4242   admin:9100,http:8000   0             1.5%   12Mi    5m\n" +
		"web-1   Pending (CrashLoopBackOff)   false   -      -                      5 (40s ago)   -      -       -\n" +
		"web-2   Terminating                  false   4250   8002                   0             0.0%   900Ki   2d2h\n"
	if got := InstanceTable(insts, tableNow).String(); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}
