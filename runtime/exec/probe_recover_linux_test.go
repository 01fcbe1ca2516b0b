package exec

import (
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"proclet.dev/proclet/apis/v1alpha1"

	"proclet.dev/proclet/runtime"
	"proclet.dev/proclet/runtime/internal/testutil"
)

// listenOn listens on 127.0.0.1:port, retrying for a while (the port was
// closed a moment ago and is the test's to reopen).
func listenOn(t *testing.T, port int32) net.Listener {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(int(port))))
		if err == nil {
			t.Cleanup(func() { ln.Close() })
			return ln
		}
		if time.Now().After(deadline) {
			t.Fatal(err)
		}
		time.Sleep(50 * time.Millisecond) // retry pacing, not a wait for an event
	}
}

// pollProbe polls the instance's probe status until cond holds.
func (h *harness) pollProbe(uid string, within time.Duration, what string, cond func(runtime.ProbeStatus) bool) runtime.ProbeStatus {
	h.t.Helper()
	deadline := time.Now().Add(within)
	for {
		st, _ := h.find(uid)
		if cond(st.Probe) {
			return st.Probe
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("no %s within %v: probe status %+v", what, within, st.Probe)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func tcpProbeOn(port string, failures int32) *v1alpha1.Probe {
	return &v1alpha1.Probe{ProbeHandler: v1alpha1.ProbeHandler{TCPSocket: &v1alpha1.TCPSocketAction{Port: v1alpha1.FromString(port)}},
		PeriodSeconds: 1, FailureThreshold: failures}
}

// A probe that fails and then passes again leaves no message behind: the
// instance's message said why it was not ready (or why its liveness was in
// doubt) and must not keep saying so once it is fine. Real sockets: the
// test closes and reopens the ports the probes connect to.
func TestExec_ProbeMessageClearedOnRecovery(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	ready, live := testutil.FreePort(t), testutil.FreePort(t)
	readyLn, liveLn := listenOn(t, ready), listenOn(t, live)
	s := h.spec("/bin/sleep", "100")
	s.Spec.Ports = []v1alpha1.PortSpec{{Name: "ready", Port: ready}, {Name: "live", Port: live}}
	s.Ports = map[string]int32{"ready": ready, "live": live}
	s.Spec.ReadinessProbe = tcpProbeOn("ready", 1)
	s.Spec.LivenessProbe = tcpProbeOn("live", 100) // never reached: failures only say so
	h.start(s)
	h.pollProbe(s.UID, 10*time.Second, "Ready", func(p runtime.ProbeStatus) bool { return p.Ready })

	// Readiness: not ready with the failure, then ready without it.
	readyLn.Close()
	p := h.pollProbe(s.UID, 10*time.Second, "not Ready", func(p runtime.ProbeStatus) bool { return !p.Ready })
	if !strings.Contains(p.Message, "readiness probe:") || !strings.Contains(p.Message, "connection refused") {
		t.Fatalf("not ready: message %q, want the readiness failure", p.Message)
	}
	listenOn(t, ready)
	p = h.pollProbe(s.UID, 10*time.Second, "Ready again", func(p runtime.ProbeStatus) bool { return p.Ready })
	if p.Message != "" {
		t.Fatalf("ready again with message %q, want none", p.Message)
	}

	// Liveness failures short of the threshold: said, then cleared.
	liveLn.Close()
	h.pollProbe(s.UID, 10*time.Second, "a liveness failure", func(p runtime.ProbeStatus) bool {
		return strings.Contains(p.Message, "liveness probe:")
	})
	listenOn(t, live)
	p = h.pollProbe(s.UID, 10*time.Second, "the liveness failure cleared", func(p runtime.ProbeStatus) bool { return p.Message == "" })
	if !p.Ready || p.Failed != "" {
		t.Fatalf("after the liveness probe passed again: %+v", p)
	}
}
