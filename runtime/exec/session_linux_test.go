package exec

import (
	"os"
	"os/exec"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// An instance runs in a session of its own (setsid), which it leads, and
// so in a group of its own: not in the daemon's session, whose terminal's
// hangup and job control must not reach it.
func TestStart_OwnSession(t *testing.T) {
	h := newHarness(t)
	st := h.startReady(h.spec(workload))
	id, err := readProcIdent(st.PID)
	if err != nil {
		t.Fatal(err)
	}
	self, err := readProcIdent(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if id.session != st.PID || id.pgrp != st.PID {
		t.Fatalf("instance %d: session %d, group %d; want both %d", st.PID, id.session, id.pgrp, st.PID)
	}
	if id.session == self.session {
		t.Fatalf("instance %d shares the daemon's session %d", st.PID, self.session)
	}
}

// An instance an older daemon started (its own group, the daemon's
// session) is still found by its marker: a session of its own is not what
// makes an instance.
func TestAdopt_ByMarkerWithoutOwnSession(t *testing.T) {
	h := newHarness(t)
	cmd := exec.Command(workload)
	cmd.Env = []string{envStateDir + "=" + h.state, envUID + "=uid-old", "PROCLET_APP=web",
		"PROCLET_INSTANCE=web-0", "PROCLET_INDEX=0", envRevision + "=rev1"}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pid := cmd.Process.Pid
	t.Cleanup(func() { unix.Kill(-pid, unix.SIGKILL); cmd.Wait() })
	waitFor(t, 5*time.Second, "the process's marker readable", func() bool {
		env, err := readEnviron(pid)
		v, _ := envValue(env, envUID)
		return err == nil && v == "uid-old"
	})
	if id, err := readProcIdent(pid); err != nil || id.session == pid || id.pgrp != pid {
		t.Fatalf("not an old-style instance: %+v %v", id, err)
	}
	b := h.reopen(nil)
	got := byUID(b.Instances("web"))["uid-old"]
	if got.PID != pid || !got.Running() {
		t.Fatalf("found %+v, want pid %d running", got, pid)
	}
}
