package runtime

import (
	"os"
	"testing"
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
