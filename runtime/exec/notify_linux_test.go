package exec

import (
	"log/slog"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"proclet.dev/proclet/apis/v1alpha1"

	"proclet.dev/proclet/runtime"
	"proclet.dev/proclet/runtime/probe"
)

func notifyProbe(period, failures int32) *v1alpha1.Probe {
	return &v1alpha1.Probe{ProbeHandler: v1alpha1.ProbeHandler{Notify: &v1alpha1.NotifyAction{}},
		PeriodSeconds: period, FailureThreshold: failures}
}

// notifySpec is a StartSpec of the workload with a notify readiness probe.
func (h *harness) notifySpec(command ...string) runtime.StartSpec {
	s := h.spec(command...)
	s.Spec.ReadinessProbe = notifyProbe(0, 0)
	return s
}

func (h *harness) probeOf(uid string) runtime.ProbeStatus {
	st, _ := h.find(uid)
	return st.Probe
}

// sendNotify sends msg to the Runtime's notify socket from the test
// process: a sender outside every instance's tree.
func sendNotify(t *testing.T, e *Runtime, msg string) {
	t.Helper()
	c, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: notifySocketAddr(e.stateDir), Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Write([]byte(msg)); err != nil {
		t.Fatal(err)
	}
}

// TestNotify_ReadyAndStatusFromTheInstance: the instance gets
// NOTIFY_SOCKET, is not ready until it sends READY=1, and its STATUS= is
// its message.
func TestNotify_ReadyAndStatusFromTheInstance(t *testing.T) {
	h := newHarness(t)
	s := h.notifySpec(workload, "--notify-ready-after", "500ms", "--notify-status", "warming up", "--print-env")
	st := h.start(s)
	if st.Probe.Ready {
		t.Fatal("ready at start")
	}
	h.waitLog(s, "stdout", "NOTIFY_SOCKET="+notifySocketAddr(h.state)+"\n", 5*time.Second)
	waitFor(t, 5*time.Second, "the STATUS= as the message", func() bool { return h.probeOf(s.UID).Message == "warming up" })
	waitFor(t, 5*time.Second, "ready", func() bool { return h.probeOf(s.UID).Ready })
	if p := h.probeOf(s.UID); p.ReadySince.Sub(st.StartedAt) < 500*time.Millisecond {
		t.Errorf("ready since %v, %v after the start: before its READY=1", p.ReadySince, p.ReadySince.Sub(st.StartedAt))
	}
	if log, _ := readLog(h.logPath(s, "stdout")); strings.Contains(string(log), "WATCHDOG_USEC") {
		t.Error("WATCHDOG_USEC set without a notify liveness probe")
	}
}

// TestNotify_SendersOutsideTheTreeAreRefused: a process that is not of
// the instance's tree (the test itself, and a child of the test given the
// socket) cannot make it ready; the drops are counted.
func TestNotify_SendersOutsideTheTreeAreRefused(t *testing.T) {
	h := newHarness(t)
	s := h.notifySpec(workload, "--notify-status-every", "50ms")
	h.start(s)
	sendNotify(t, h.e, "READY=1\nSTATUS=forged")
	outsider := exec.Command(workload, "--notify-ready-after", "0", "--exit-after", "200ms")
	outsider.Env = []string{"NOTIFY_SOCKET=" + notifySocketAddr(h.state)}
	if out, err := outsider.CombinedOutput(); err != nil {
		t.Fatalf("outsider: %v\n%s", err, out)
	}
	waitFor(t, 10*time.Second, "both forged messages dropped", func() bool { return h.e.notify.drops.count() >= 2 })
	p := h.probeOf(s.UID)
	if p.Ready || !strings.HasPrefix(p.Message, "tick ") {
		t.Errorf("probe %+v: want not ready, the instance's own STATUS=tick", p)
	}
}

// TestNotify_DescendantThatLeftTheSession: a process that left the
// instance's group and session (setsid) is still of its tree through its
// parents.
func TestNotify_DescendantThatLeftTheSession(t *testing.T) {
	setsid, err := exec.LookPath("setsid")
	if err != nil {
		t.Skip("no setsid(1)")
	}
	h := newHarness(t)
	s := h.notifySpec("/bin/sh", "-c", setsid+" "+workload+" --notify-ready-after 0 & wait")
	h.start(s)
	waitFor(t, 5*time.Second, "ready from the setsid child", func() bool { return h.probeOf(s.UID).Ready })
}

// TestNotify_MessageSizeBound: a datagram over 4096 bytes is dropped
// whole; one of 4096 is read.
func TestNotify_MessageSizeBound(t *testing.T) {
	h := newHarness(t)
	over := h.notifySpec(workload, "--notify-ready-after", "0", "--notify-size", "4097")
	h.start(over)
	waitFor(t, 5*time.Second, "the 4097-byte READY=1 dropped", func() bool { return h.e.notify.drops.count() >= 1 })
	exact := h.notifySpec(workload, "--notify-ready-after", "0", "--notify-size", "4096")
	h.start(exact)
	waitFor(t, 5*time.Second, "ready from a 4096-byte message", func() bool { return h.probeOf(exact.UID).Ready })
	if h.probeOf(over.UID).Ready {
		t.Error("ready from a message over the bound")
	}
}

// TestNotify_RateBound: of a flood of 500 datagrams, an instance gets its
// burst (32) and what refills meanwhile; the rest are dropped and counted.
func TestNotify_RateBound(t *testing.T) {
	h := newHarness(t)
	s := h.notifySpec(workload, "--notify-flood", "500")
	h.start(s)
	waitFor(t, 10*time.Second, "most of the flood dropped", func() bool { return h.e.notify.drops.count() >= 400 })
	if got := h.e.notify.drops.count(); got >= 500-notifyBurst+1 {
		t.Errorf("%d of 500 dropped: the burst of %d was not let through", got, notifyBurst)
	}
}

func TestNotifyTokenBucket(t *testing.T) {
	t0 := time.Now()
	en := &notifyEntry{tokens: notifyBurst, filled: t0}
	n := 0
	for range 100 {
		if en.take(t0) {
			n++
		}
	}
	if n != notifyBurst {
		t.Errorf("%d taken at once, want the burst, %d", n, notifyBurst)
	}
	if !en.take(t0.Add(time.Second/notifyRate)) || en.take(t0.Add(time.Second/notifyRate)) {
		t.Errorf("not exactly one token refilled after 1/%d s", notifyRate)
	}
	if n := en.tokens; !en.take(t0.Add(time.Hour)) || en.tokens != notifyBurst-1 {
		t.Errorf("after an hour idle: %v tokens, want the burst (%d) less one (had %v)", en.tokens, notifyBurst, n)
	}
}

// TestNotify_Watchdog: WATCHDOG_USEC is periodSeconds; pings that stop
// fail the liveness probe (LivenessProbeFailed, for the reconciler to
// restart), and WATCHDOG=trigger fails it at once.
func TestNotify_Watchdog(t *testing.T) {
	h := newHarness(t)
	stall := h.spec(workload, "--notify-watchdog", "--notify-watchdog-stop-after", "1500ms", "--print-env")
	stall.Spec.LivenessProbe = notifyProbe(1, 1)
	st := h.start(stall)
	h.waitLog(stall, "stdout", "WATCHDOG_USEC=1000000\n", 5*time.Second)
	waitFor(t, 10*time.Second, "the stalled watchdog failed", func() bool { return h.probeOf(stall.UID).Failed != "" })
	p := h.probeOf(stall.UID)
	if p.Failed != runtime.ReasonLivenessProbeFailed || !strings.Contains(p.Message, "no WATCHDOG=1 for") {
		t.Errorf("probe %+v, want LivenessProbeFailed: no WATCHDOG=1", p)
	}
	// Pings every 0.5 s until 1.5 s: the last one at 1 s at least, and
	// a period (1 s) without one fails.
	if since := time.Since(st.StartedAt); since < 1900*time.Millisecond {
		t.Errorf("failed %v after the start: the pings ran until 1 s at least, the period is 1 s", since)
	}

	trigger := h.spec(workload, "--notify-watchdog", "--notify-trigger-after", "300ms")
	trigger.Spec.LivenessProbe = notifyProbe(60, 3)
	h.start(trigger)
	waitFor(t, 5*time.Second, "WATCHDOG=trigger failed it", func() bool { return h.probeOf(trigger.UID).Failed != "" })
	if p := h.probeOf(trigger.UID); p.Message != "liveness probe: WATCHDOG=trigger" {
		t.Errorf("message %q, want the trigger", p.Message)
	}
}

// TestNotifySocketAddr: the socket is the state dir's notify.sock while
// that fits in a socket address, else an abstract socket named after the
// state dir; both bind, and both are what a next daemon binds again.
func TestNotifySocketAddr(t *testing.T) {
	short := t.TempDir()
	if got := notifySocketAddr(short); got != short+"/notify.sock" {
		t.Errorf("addr %q", got)
	}
	long := "/" + strings.Repeat("d", 100)
	addr := notifySocketAddr(long)
	if !strings.HasPrefix(addr, "@proclet-notify-") || addr != notifySocketAddr(long) || addr == notifySocketAddr(long+"x") {
		t.Fatalf("addr %q for a long state dir: want a stable abstract name of its own", addr)
	}
	l, err := openNotify(addr, os.Geteuid(), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	l.close()
	// A stale socket file (a killed daemon's) is replaced; anything else
	// is not touched.
	path := notifySocketAddr(short)
	for range 2 {
		c, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
		if err != nil {
			t.Fatal(err)
		}
		c.Close()
		if l, err = openNotify(path, os.Geteuid(), slog.New(slog.DiscardHandler)); err != nil {
			t.Fatalf("over a stale socket: %v", err)
		}
		l.close()
	}
	os.WriteFile(path, []byte("x"), 0o600)
	if _, err := openNotify(path, os.Geteuid(), slog.New(slog.DiscardHandler)); err == nil || !strings.Contains(err.Error(), "is not a socket") {
		t.Errorf("over a file: %v, want refused", err)
	}
}

// startOutsider starts a sleeping process that is the test's child, in no
// instance's tree, killed when the test ends.
func startOutsider(t *testing.T) int {
	t.Helper()
	c := exec.Command(workload)
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Process.Kill(); c.Wait() })
	return c.Process.Pid
}

// TestNotify_MainPIDOnlyFromTheTree: MAINPID= naming a process outside
// the sender's instance's tree drops the whole datagram; one inside is
// honoured.
func TestNotify_MainPIDOnlyFromTheTree(t *testing.T) {
	h := newHarness(t)
	s := h.notifySpec(workload, "--children", "1")
	st := h.start(s)
	var child int
	waitFor(t, 5*time.Second, "the child", func() bool {
		log, _ := readLog(h.logPath(s, "stdout"))
		pids := childPIDs(string(log))
		if len(pids) > 0 {
			child = pids[0]
		}
		return child > 0
	})
	l := h.e.notify
	outsider := startOutsider(t)
	l.handle(st.PID, []byte("MAINPID="+strconv.Itoa(outsider)+"\nREADY=1"), time.Now())
	if h.probeOf(s.UID).Ready || l.drops.count() != 1 {
		t.Fatalf("MAINPID outside the tree: ready %v, %d drops; want not ready, 1 drop", h.probeOf(s.UID).Ready, l.drops.count())
	}
	l.handle(st.PID, []byte("MAINPID="+strconv.Itoa(child)+"\nREADY=1"), time.Now())
	if !h.probeOf(s.UID).Ready {
		t.Fatal("MAINPID of a child: not ready")
	}
	l.mu.Lock()
	owner := l.byMain[child]
	l.mu.Unlock()
	if owner == nil || owner.pid != st.PID {
		t.Errorf("MAINPID %d not recorded for the instance", child)
	}
}

// TestNotify_PendingBound: datagrams no instance claims wait at most
// 64 and 2 s, each counted as a drop when it goes.
func TestNotify_PendingBound(t *testing.T) {
	h := newHarness(t)
	l := h.e.notify
	outsider := startOutsider(t)
	now := time.Now()
	for range maxNotifyPending + 6 {
		l.handle(outsider, []byte("READY=1"), now)
	}
	l.mu.Lock()
	n := len(l.pending)
	l.mu.Unlock()
	if n != maxNotifyPending || l.drops.count() != 6 {
		t.Fatalf("%d pending, %d dropped; want %d and 6", n, l.drops.count(), maxNotifyPending)
	}
	l.handle(outsider, []byte("READY=1"), now.Add(notifyPendingTTL))
	l.mu.Lock()
	n = len(l.pending)
	l.mu.Unlock()
	if n != 1 || l.drops.count() != 6+maxNotifyPending {
		t.Errorf("after the TTL: %d pending, %d dropped; want 1 and %d", n, l.drops.count(), 6+maxNotifyPending)
	}
}

// TestNotify_PassedDescriptorsAreClosed: a datagram carrying file
// descriptors (SCM_RIGHTS) leaves none open in the daemon.
func TestNotify_PassedDescriptorsAreClosed(t *testing.T) {
	h := newHarness(t)
	// The fds open on /dev/null: what the datagrams carry.
	fds := func() int {
		ents, _ := os.ReadDir("/proc/self/fd")
		n := 0
		for _, e := range ents {
			if to, _ := os.Readlink("/proc/self/fd/" + e.Name()); to == "/dev/null" {
				n++
			}
		}
		return n
	}
	sock, err := unix.Socket(unix.AF_UNIX, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(sock)
	f, err := os.Open("/dev/null")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	before := fds()
	for range 10 {
		to := &unix.SockaddrUnix{Name: notifySocketAddr(h.state)}
		if err := unix.Sendmsg(sock, []byte("READY=1"), unix.UnixRights(int(f.Fd()), int(f.Fd())), to, 0); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, 5*time.Second, "the datagrams read", func() bool {
		h.e.notify.mu.Lock()
		defer h.e.notify.mu.Unlock()
		return len(h.e.notify.pending) == 10
	})
	if after := fds(); after > before {
		t.Errorf("%d fds open on /dev/null after 10 datagrams of 2 each, %d before", after, before)
	}
}

// BenchmarkNotifyOwner is what telling a sender's instance costs: a
// leader (its /proc stat and the leader's), and an outsider (its parents
// walked up to init).
func BenchmarkNotifyOwner(b *testing.B) {
	e, err := New(Options{StateDir: b.TempDir(), SampleInterval: -1})
	if err != nil {
		b.Fatal(err)
	}
	defer e.notify.close()
	c := exec.Command(workload)
	if err := c.Start(); err != nil {
		b.Fatal(err)
	}
	defer func() { c.Process.Kill(); c.Wait() }()
	unregister := e.notify.register(c.Process.Pid, probe.NewNotify("web", "web-0", true, 0, time.Now()))
	defer unregister()
	for name, pid := range map[string]int{"leader": c.Process.Pid, "outsider": os.Getpid()} {
		b.Run(name, func(b *testing.B) {
			for b.Loop() {
				e.notify.mu.Lock()
				e.notify.ownerLocked(pid)
				e.notify.mu.Unlock()
			}
		})
	}
}
