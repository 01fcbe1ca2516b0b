package main

import (
	"errors"
	"strings"
	"testing"
	"time"

	"proclet.dev/proclet/apis/v1alpha1"
)

func TestFleetProgress(t *testing.T) {
	done := hostRollout{selected: true, done: true, msg: "rolled out"}
	waiting := hostRollout{selected: true, msg: "1 of 2 updated"}
	skip := hostRollout{}
	ans := func(node string, r hostRollout, err error) hostAnswer[hostRollout] {
		return hostAnswer[hostRollout]{host: node, node: node, val: r, err: err}
	}
	for _, c := range []struct {
		name    string
		answers []hostAnswer[hostRollout]
		msg     string
		done    bool
		err     string
	}{
		{"every selecting host done", []hostAnswer[hostRollout]{ans("a", done, nil), ans("b", skip, nil), ans("c", done, nil)},
			`app "web" successfully rolled out on 2 hosts (1 do not select it)`, true, ""},
		{"one waiting", []hostAnswer[hostRollout]{ans("a", done, nil), ans("b", waiting, nil)},
			`Waiting for app "web" on 1 of 2 hosts: b (1 of 2 updated)`, false, ""},
		{"an unreachable host is not done", []hostAnswer[hostRollout]{ans("a", done, nil), ans("b", skip, errors.New("refused"))},
			`Waiting for app "web" on 1 of 2 hosts: b (no answer: refused)`, false, ""},
		{"no host selects it yet", []hostAnswer[hostRollout]{ans("a", skip, nil), ans("b", skip, nil)},
			`Waiting for a host that selects app "web" (none of 2 does)...`, false, ""},
		{"failed on one host", []hostAnswer[hostRollout]{ans("a", done, nil), ans("b", hostRollout{selected: true, err: errors.New("deadline")}, nil)},
			"", false, "node b: deadline"},
		{"many waiting: five named", []hostAnswer[hostRollout]{ans("a", waiting, nil), ans("b", waiting, nil), ans("c", waiting, nil),
			ans("d", waiting, nil), ans("e", waiting, nil), ans("f", waiting, nil), ans("g", waiting, nil)},
			`Waiting for app "web" on 7 of 7 hosts: a (1 of 2 updated), b (1 of 2 updated), c (1 of 2 updated), d (1 of 2 updated), e (1 of 2 updated) and 2 more`, false, ""},
	} {
		msg, isDone, err := fleetProgress("web", c.answers)
		if msg != c.msg || isDone != c.done || (err == nil) != (c.err == "") || (err != nil && err.Error() != c.err) {
			t.Errorf("%s: %q %v %v, want %q %v %q", c.name, msg, isDone, err, c.msg, c.done, c.err)
		}
	}
}

func TestFleetRolloutStatus_WaitsForSelectingHostsOnly(t *testing.T) {
	ready := &cliFakeAPI{node: "canary-1", apps: []v1alpha1.App{cliApp("web", 1, 1)},
		instances: []v1alpha1.Instance{cliInstance("web", 0, time.Now())}}
	mismatch := cliApp("web", 1, 0)
	mismatch.Status.UpdatedReplicas, mismatch.Status.AvailableReplicas = 0, 0
	mismatch.Status.Conditions = []v1alpha1.Condition{{Type: v1alpha1.ConditionAvailable, Status: v1alpha1.ConditionTrue, Reason: "NodeSelectorMismatch"}}
	notSelected := &cliFakeAPI{node: "main-1", apps: []v1alpha1.App{mismatch}}
	absent := &cliFakeAPI{node: "main-2"}
	hosts := hostOf(ready.start(t)) + "," + hostOf(notSelected.start(t)) + "," + hostOf(absent.start(t))
	ready.instances[0].Revision = ready.apps[0].Status.Revision
	code, out, errOut := cliRun("rollout", "status", "web", "--servers", hosts, "--timeout", "10s")
	if code != 0 || out != "app \"web\" successfully rolled out on 1 hosts (2 do not select it)\n" {
		t.Errorf("code %d, %q, %q", code, out, errOut)
	}

	// A host whose rollout does not finish is named at the timeout.
	stuck := cliApp("web", 2, 1)
	stuck.Status.UpdatedReplicas = 1
	slow := &cliFakeAPI{node: "canary-2", apps: []v1alpha1.App{stuck}}
	hosts += "," + hostOf(slow.start(t))
	code, out, errOut = cliRun("rollout", "status", "web", "--servers", hosts, "--timeout", "1s")
	if code != 1 || !strings.Contains(out, `Waiting for app "web" on 1 of 2 hosts: canary-2 (Waiting for rollout to finish: 1 out of 2 new replicas have been updated...)`) {
		t.Errorf("stuck: code %d, stdout %q", code, out)
	}
	want := "proclet rollout status: canary-2: stalled: Waiting for rollout to finish: 1 out of 2 new replicas have been updated...\n" +
		"proclet rollout status: timed out after 1s waiting for the rollout of app \"web\": 1 hosts stalled\n"
	if errOut != want {
		t.Errorf("stderr %q, want %q", errOut, want)
	}

	// --commit: a daemon that has not read the commit is not done.
	ready.apps[0].Status.SourceRevision = "4f2a9c1e0000"
	code, _, _ = cliRun("rollout", "status", "web", "--servers", hostOf(ready.start(t)), "--commit", "4f2a9c1")
	if code != 0 {
		t.Errorf("--commit of the commit read: code %d", code)
	}
	code, out, _ = cliRun("rollout", "status", "web", "--servers", hostOf(ready.start(t)), "--commit", "99aa", "--timeout", "700ms")
	if code != 1 || !strings.Contains(out, "Waiting for the daemon to read commit 99aa (it is at 4f2a9c1e0000)...") {
		t.Errorf("--commit of another commit: code %d, %q", code, out)
	}

	// --commit of one daemon, without --servers.
	code, out, _ = cliRun("rollout", "status", "web", "--server", ready.start(t), "--commit", "99aa", "--timeout", "700ms")
	if code != 1 || !strings.Contains(out, "Waiting for the daemon to read commit 99aa (it is at 4f2a9c1e0000)...") {
		t.Errorf("--commit of one daemon: code %d, %q", code, out)
	}
}
