package main

import (
	"strings"
	"testing"

	"proclet.dev/proclet/apis/v1alpha1"
)

func ptr[T any](v T) *T { return &v }

// converged is an API state where app web (2 replicas, command cmd) is
// done: both instances running, ready, at revision r1.
func converged() apiState {
	return apiState{
		apps: []v1alpha1.App{{
			Metadata: v1alpha1.ObjectMeta{Name: "web", Generation: 3},
			Spec:     v1alpha1.AppSpec{Replicas: ptr(int32(2)), Command: []string{"cmd", "--x"}},
			Status:   &v1alpha1.AppStatus{Revision: "r1", ObservedGeneration: 3, ReadyReplicas: 2, UpdatedReplicas: 2},
		}},
		instances: []v1alpha1.Instance{
			{Name: "web-0", App: "web", UID: "u0", Revision: "r1", Phase: v1alpha1.PhaseRunning, Ready: true, PID: 100, Ports: map[string]int32{"http": 21000}},
			{Name: "web-1", App: "web", UID: "u1", Revision: "r1", Phase: v1alpha1.PhaseRunning, Ready: true, PID: 101, Ports: map[string]int32{"http": 21001}},
		},
		files: []v1alpha1.FileStatus{{Path: "web.yaml", Objects: []string{"web"}}},
	}
}

func procOf(i v1alpha1.Instance, listening ...int) procInfo {
	return procInfo{pid: i.PID, pgid: i.PID, env: map[string]string{"PROCLET_UID": i.UID, "PROCLET_APP": i.App, "PROCLET_INSTANCE": i.Name}, listening: listening}
}

func wantBreaches(t *testing.T, got []string, want ...string) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("breaches %q, want %d like %q", got, len(want), want)
	}
	for i, w := range want {
		if !strings.Contains(got[i], w) {
			t.Errorf("breach %d: %q, want it to say %q", i, got[i], w)
		}
	}
}

func TestCheckApps(t *testing.T) {
	want := []expectation{{name: "web", replicas: 2, command: []string{"cmd", "--x"}}}
	wantBreaches(t, checkApps(want, converged()))

	for _, tc := range []struct {
		name   string
		edit   func(*apiState)
		want   []expectation
		expect []string
	}{
		{"old command", nil, []expectation{{name: "web", replicas: 2, command: []string{"cmd", "--y"}}}, []string{"spec.command"}},
		{"replicas not applied", nil, []expectation{{name: "web", replicas: 3, command: []string{"cmd", "--x"}}},
			[]string{"spec.replicas 2, the file says 3", "readyReplicas 2", "2 instances, want 3", "0 instances named web-2"}},
		{"generation lag", func(s *apiState) { s.apps[0].Status.ObservedGeneration = 2 }, want, []string{"observedGeneration 2"}},
		{"old revision", func(s *apiState) { s.instances[1].Revision = "r0" }, want, []string{"web-1 (pid 101) at revision r0"}},
		{"not ready", func(s *apiState) { s.instances[0].Ready = false }, want, []string{"web-0: phase Running reason \"\" ready false"}},
		{"extra instance", func(s *apiState) {
			s.instances = append(s.instances, v1alpha1.Instance{Name: "web-1", App: "web", UID: "u9", Revision: "r1", Phase: v1alpha1.PhaseTerminating, PID: 105})
		}, want, []string{"3 instances, want 2", "web-1: phase Terminating", "2 instances named web-1"}},
		{"file in error", func(s *apiState) { s.files[0].Error = &v1alpha1.FileError{Message: "bad"} }, want, []string{"manifest web.yaml still in error: bad"}},
		{"removed app still there", nil, nil, []string{"app web: removed from the manifests"}},
		{"missing app", nil, append(want, expectation{name: "db", replicas: 1}), []string{"app db: in the manifests, not in the API"}},
		{"a Job's instances are not an app's", func(s *apiState) {
			s.jobs = []v1alpha1.Job{{Metadata: v1alpha1.ObjectMeta{Name: "job-0"}}}
			s.cronJobs = []v1alpha1.CronJob{{Metadata: v1alpha1.ObjectMeta{Name: "cron-allow"}}}
			s.instances = append(s.instances, v1alpha1.Instance{Name: "job-0-1-0", App: "job-0", PID: 200},
				v1alpha1.Instance{Name: "cron-allow-29412345-0", App: "cron-allow", PID: 201})
		}, want, nil},
		{"an instance of no app nor job", func(s *apiState) {
			s.instances = append(s.instances, v1alpha1.Instance{Name: "job-0-1-0", App: "job-0", PID: 200})
		}, want, []string{"app job-0: no such app, yet 1 instances"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := converged()
			if tc.edit != nil {
				tc.edit(&st)
			}
			wantBreaches(t, checkApps(tc.want, st), tc.expect...)
		})
	}
}

func TestCheckProcesses(t *testing.T) {
	st := converged()
	i0, i1 := st.instances[0], st.instances[1]
	wantBreaches(t, checkProcesses(st, []procInfo{procOf(i0), procOf(i1)}))

	child := procOf(i0)
	child.pid = 110 // in web-0's group
	wantBreaches(t, checkProcesses(st, []procInfo{procOf(i0), child, procOf(i1)}))

	orphan := procOf(i0)
	orphan.pid, orphan.pgid, orphan.env = 90, 90, map[string]string{"PROCLET_UID": "old", "PROCLET_APP": "web", "PROCLET_INSTANCE": "web-0"}
	strayChild := procOf(i1)
	strayChild.pid, strayChild.pgid = 91, 89
	wantBreaches(t, checkProcesses(st, []procInfo{orphan, strayChild, procOf(i0), procOf(i1)}),
		"orphan: pid 90", "orphan: pid 91 (pgid 89)", "duplicate: web/web-0 runs 2 times: pid 90 uid old, pid 100 uid u0")

	other := procOf(i1)
	other.env["PROCLET_UID"] = "u7" // pid 101 is another process now
	wantBreaches(t, checkProcesses(st, []procInfo{procOf(i0), other}), "mismatch: pid 101", "ghost: the API reports web/web-1")
}

func TestCheckPorts(t *testing.T) {
	st := converged()
	i0, i1 := st.instances[0], st.instances[1]
	wantBreaches(t, checkPorts(st, []procInfo{procOf(i0, 21000), procOf(i1, 21001)}))

	wantBreaches(t, checkPorts(st, []procInfo{procOf(i0, 21000), procOf(i1)}), "port 21001: web/web-1 pid 101 is ready but does not listen")
	wantBreaches(t, checkPorts(st, []procInfo{procOf(i0, 21000, 21001), procOf(i1, 21001)}),
		"port 21001: pid 100", "port 21001 listened on by 2 instances")

	st.instances[1].Ports["http"] = 21000
	wantBreaches(t, checkPorts(st, []procInfo{procOf(i0, 21000)}),
		"port 21000 given to two instances", "port 21000: web/web-1 pid 101 is ready but does not listen")
}
