package exec

import (
	"os"
	"os/exec"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
	"proclet.dev/proclet/runtime/procfs"
)

// An instance runs in a session of its own (setsid), which it leads, and
// so in a group of its own: not in the daemon's session, whose terminal's
// hangup and job control must not reach it.
func TestStart_OwnSession(t *testing.T) {
	h := newHarness(t)
	st := h.startReady(h.spec(workload))
	id, err := procfs.ReadIdent(st.PID)
	if err != nil {
		t.Fatal(err)
	}
	self, err := procfs.ReadIdent(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if id.Session != st.PID || id.Pgrp != st.PID {
		t.Fatalf("instance %d: session %d, group %d; want both %d", st.PID, id.Session, id.Pgrp, st.PID)
	}
	if id.Session == self.Session {
		t.Fatalf("instance %d shares the daemon's session %d", st.PID, self.Session)
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
		env, err := procfs.ReadEnviron(pid)
		v, _ := procfs.EnvValue(env, envUID)
		return err == nil && v == "uid-old"
	})
	if id, err := procfs.ReadIdent(pid); err != nil || id.Session == pid || id.Pgrp != pid {
		t.Fatalf("not an old-style instance: %+v %v", id, err)
	}
	b := h.reopen(nil)
	got := byUID(b.Instances("web"))["uid-old"]
	if got.PID != pid || !got.Running() {
		t.Fatalf("found %+v, want pid %d running", got, pid)
	}
}
