package exec

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"proclet.dev/proclet/apis/v1alpha1"

	"proclet.dev/proclet/runtime"
)

// waitGroupSize polls until process group pgid has n live members and
// returns them.
func waitGroupSize(t *testing.T, pgid, n int) []int {
	t.Helper()
	var members []int
	waitFor(t, 5*time.Second, strconv.Itoa(n)+" processes in group "+strconv.Itoa(pgid), func() bool {
		members = liveGroup(pgid)
		return len(members) == n
	})
	return members
}

func assertGone(t *testing.T, pids []int) {
	t.Helper()
	// The kill is sent before the exit is recorded, but a process dies a
	// moment after the signal.
	waitFor(t, 2*time.Second, "processes to be gone", func() bool {
		for _, pid := range pids {
			if alive(pid) {
				return false
			}
		}
		return true
	})
}

func TestExec_StopReachesGrandchildren(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	s := h.spec(workload, "--children", "2", "--grandchildren")
	st := h.start(s)
	members := waitGroupSize(t, st.PID, 5)
	if err := h.e.Stop(s.UID, runtime.StopSpec{Signal: syscall.SIGTERM, Grace: 10 * time.Second, Reason: "Stopped"}); err != nil {
		t.Fatal(err)
	}
	got := h.waitExit(s.UID, 5*time.Second)
	if got.Exit.Code != 0 || got.Exit.Reason != "Stopped" {
		t.Errorf("exit = %+v, want code 0, reason Stopped", *got.Exit)
	}
	assertGone(t, members)
}

func TestExec_ExitKillsWhatIsLeftOfTheGroup(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	s := h.spec(workload, "--children", "1", "--grandchildren", "--exit-after", "1s")
	st := h.start(s)
	members := waitGroupSize(t, st.PID, 3)
	got := h.waitExit(s.UID, 5*time.Second)
	if got.Exit.Reason != "Completed" {
		t.Errorf("exit = %+v, want Completed", *got.Exit)
	}
	assertGone(t, members)
}

func TestExec_SIGKILLAfterGrace(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	s := h.spec(workload, "--ignore-sigterm", "--children", "1")
	st := h.start(s)
	members := waitGroupSize(t, st.PID, 2)
	const grace = 2500 * time.Millisecond
	begin := time.Now()
	if err := h.e.Stop(s.UID, runtime.StopSpec{Signal: syscall.SIGTERM, Grace: grace, Reason: "LivenessProbeFailed"}); err != nil {
		t.Fatal(err)
	}
	if now, _ := h.find(s.UID); !now.Stopping {
		t.Error("not Stopping after Stop")
	}
	got := h.waitExit(s.UID, 10*time.Second)
	if took := got.Exit.At.Sub(begin); took < grace {
		t.Errorf("killed after %v, before the grace of %v", took, grace)
	}
	want := v1alpha1.ExitStatus{Code: 137, Signal: "SIGKILL", Reason: "LivenessProbeFailed", At: got.Exit.At}
	if *got.Exit != want {
		t.Errorf("exit = %+v, want %+v", *got.Exit, want)
	}
	if got.Stopping {
		t.Error("still Stopping after the exit")
	}
	assertGone(t, members)
}

func TestExec_ZeroGraceKillsAtOnceWithoutPreStop(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	s := h.spec(workload, "--ignore-sigterm")
	h.start(s)
	marker := filepath.Join(h.dir, "prestop-ran")
	begin := time.Now()
	err := h.e.Stop(s.UID, runtime.StopSpec{Grace: 0, PreStop: []string{"/usr/bin/touch", marker}, Reason: "Stopped"})
	if err != nil {
		t.Fatal(err)
	}
	got := h.waitExit(s.UID, 5*time.Second)
	if got.Exit.Signal != "SIGKILL" {
		t.Errorf("exit = %+v, want SIGKILL", *got.Exit)
	}
	if took := got.Exit.At.Sub(begin); took > time.Second {
		t.Errorf("zero grace took %v to kill", took)
	}
	if _, err := os.Stat(marker); !isNotExist(err) {
		t.Errorf("preStop ran with a zero grace (stat: %v)", err)
	}
}

func TestExec_PreStopRunsOnStop(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	s := h.spec(workload)
	h.startReady(s)
	hook := []string{"/bin/sh", "-c", `echo "$PROCLET_INSTANCE" > marker; echo draining $PROCLET_INDEX`}
	if err := h.e.Stop(s.UID, runtime.StopSpec{Signal: syscall.SIGTERM, Grace: 10 * time.Second, PreStop: hook, Reason: "SpecChanged"}); err != nil {
		t.Fatal(err)
	}
	got := h.waitExit(s.UID, 5*time.Second)
	if got.Exit.Reason != "SpecChanged" || got.Exit.Code != 0 {
		t.Errorf("exit = %+v, want code 0 (SIGTERM handled), reason SpecChanged", *got.Exit)
	}
	marker, err := os.ReadFile(filepath.Join(h.dir, "marker"))
	if err != nil || string(marker) != s.Instance+"\n" {
		t.Errorf("preStop marker = %q, %v; want the instance name (hook env and working dir)", marker, err)
	}
	if log, _ := readLog(h.logPath(s, "stdout")); !strings.Contains(string(log), "draining "+strconv.Itoa(s.Ordinal)+"\n") {
		t.Errorf("hook output missing from the instance log: %q", log)
	}
}

func TestExec_PreStopOverrunLeavesTwoSecondsForTheSignal(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	s := h.spec(workload, "--ignore-sigterm")
	h.startReady(s)
	const grace = time.Second
	hook := []string{"/bin/sh", "-c", "echo hook-pid=$$; exec sleep 30"}
	begin := time.Now()
	if err := h.e.Stop(s.UID, runtime.StopSpec{Signal: syscall.SIGTERM, Grace: grace, PreStop: hook, Reason: "Stopped"}); err != nil {
		t.Fatal(err)
	}
	log := h.waitLog(s, "stdout", "hook-pid=", 5*time.Second)
	got := h.waitExit(s.UID, 10*time.Second)
	if took := got.Exit.At.Sub(begin); took < grace+2*time.Second || took > grace+4*time.Second {
		t.Errorf("killed after %v, want about %v (grace, then the 2 s floor)", took, grace+2*time.Second)
	}
	if got.Exit.Signal != "SIGKILL" {
		t.Errorf("exit = %+v, want SIGKILL", *got.Exit)
	}
	pidText := strings.TrimSpace(strings.SplitN(strings.SplitN(log, "hook-pid=", 2)[1], "\n", 2)[0])
	hookPID, err := strconv.Atoi(pidText)
	if err != nil {
		t.Fatalf("hook pid %q: %v", pidText, err)
	}
	assertGone(t, []int{hookPID})
}

func TestExec_PreStopNotRunOnCrash(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	s := h.spec(workload, "--exit-after", "50ms", "--exit-code", "2")
	h.start(s)
	got := h.waitExit(s.UID, 5*time.Second)
	marker := filepath.Join(h.dir, "prestop-ran")
	// A Stop after the exit is a no-op: no hook, the reason stays.
	if err := h.e.Stop(s.UID, runtime.StopSpec{Grace: time.Second, PreStop: []string{"/usr/bin/touch", marker}, Reason: "Stopped"}); err != nil {
		t.Fatal(err)
	}
	if got.Exit.Code != 2 || got.Exit.Reason != "Error" {
		t.Errorf("exit = %+v, want code 2, reason Error", *got.Exit)
	}
	if now, _ := h.find(s.UID); now.Exit.Reason != "Error" || now.Stopping {
		t.Errorf("state after a late Stop = %+v", now)
	}
	if _, err := os.Stat(marker); !isNotExist(err) {
		t.Errorf("preStop ran after a crash (stat: %v)", err)
	}
}

func TestExec_ShortGraceStillGivesTheSignalTwoSeconds(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	s := h.spec(workload, "--ignore-sigterm")
	h.startReady(s)
	begin := time.Now()
	if err := h.e.Stop(s.UID, runtime.StopSpec{Signal: syscall.SIGTERM, Grace: 100 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	got := h.waitExit(s.UID, 10*time.Second)
	if took := got.Exit.At.Sub(begin); took < 2*time.Second {
		t.Errorf("killed after %v, before the 2 s floor", took)
	}
	if got.Exit.Signal != "SIGKILL" || got.Exit.Reason != "Stopped" {
		t.Errorf("exit = %+v, want SIGKILL and the default reason Stopped", *got.Exit)
	}
}

func TestExec_StopUnknownAndTwice(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	if err := h.e.Stop("nope", runtime.StopSpec{}); !errors.Is(err, runtime.ErrNotFound) {
		t.Errorf("stop unknown: %v, want runtime.ErrNotFound", err)
	}
	s := h.spec(workload)
	h.startReady(s)
	if err := h.e.Stop(s.UID, runtime.StopSpec{Signal: syscall.SIGTERM, Grace: 5 * time.Second, Reason: "First"}); err != nil {
		t.Fatal(err)
	}
	if err := h.e.Stop(s.UID, runtime.StopSpec{Grace: 0, Reason: "Second"}); err != nil {
		t.Fatal(err)
	}
	if got := h.waitExit(s.UID, 5*time.Second); got.Exit.Reason != "First" || got.Exit.Signal != "" {
		t.Errorf("exit = %+v, want the first stop's reason and SIGTERM handled", *got.Exit)
	}
}

func TestExec_NoZombiesAfter100Cycles(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	for i := range 100 {
		s := h.spec(workload)
		if i%2 == 1 {
			s.Spec.Command = []string{"/bin/sh", "-c", "sleep 30 & wait"} // a shell with a child
		}
		h.start(s)
		if err := h.e.Stop(s.UID, runtime.StopSpec{Signal: syscall.SIGTERM, Grace: 5 * time.Second, Reason: "Stopped"}); err != nil {
			t.Fatal(err)
		}
		h.waitExit(s.UID, 5*time.Second)
		h.e.Release(s.UID)
	}
	if got := h.e.Instances("web"); len(got) != 0 {
		t.Errorf("%d handles left after release", len(got))
	}
	self := os.Getpid()
	if z := processes(func(s procStat) bool { return s.ppid == self && s.state == 'Z' }); len(z) != 0 {
		t.Errorf("zombie children: %v", z)
	}
	if left, _ := os.ReadDir(filepath.Join(h.state, "run")); len(left) != 0 {
		t.Errorf("run files left: %d", len(left))
	}
}

func TestExec_StopAllStopsEveryInstanceBySpec(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	one := int64(1)
	var uids []string
	for _, args := range [][]string{{"--ignore-sigterm"}, {"--ignore-sigterm", "--children", "1"}, {"--ignore-sigterm"}} {
		s := h.spec(append([]string{workload}, args...)...)
		s.Spec.TerminationGracePeriodSeconds = &one
		h.startReady(s)
		uids = append(uids, s.UID)
	}
	begin := time.Now()
	if err := h.e.StopAll(t.Context(), "DaemonShutdown"); err != nil {
		t.Fatal(err)
	}
	// Each needs the 2 s floor before SIGKILL: one after the other would take 6 s.
	if took := time.Since(begin); took < minGrace || took > 2*minGrace {
		t.Errorf("StopAll took %v, want a little over %v (the stops in parallel)", took, minGrace)
	}
	for _, uid := range uids {
		st, _ := h.find(uid)
		if st.Exit == nil || st.Exit.Reason != "DaemonShutdown" {
			t.Errorf("%s after StopAll: %+v", uid, st)
		}
	}
}

// The bounds of the stop sequence, as docs/faults.md states them: the
// stop signal gets at least 2 s (Kubernetes' minimum grace), and a process
// still there 10 s after SIGKILL is reported as stuck.
func TestStop_BoundsAreTheDocumentedOnes(t *testing.T) {
	if minGrace != 2*time.Second || killWait != 10*time.Second {
		t.Errorf("minGrace %v, killWait %v; want 2s and 10s", minGrace, killWait)
	}
}

// After Detach (the "keep" shutdown policy) a Stop is refused and the
// instance keeps running; the Exec stays usable.
func TestExec_StopAfterDetachIsRefused(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	s := h.spec("/bin/sleep", "100")
	st := h.start(s)
	h.mu.Lock()
	h.detached = true
	h.mu.Unlock()
	h.e.Detach()
	for range 2 {
		if err := h.e.Stop(s.UID, runtime.StopSpec{Grace: 0}); !errors.Is(err, runtime.ErrClosed) {
			t.Fatalf("Stop after Detach: %v, want ErrClosed", err)
		}
	}
	if !alive(st.PID) {
		t.Error("a Stop after Detach killed the instance")
	}
}

// no probing while an instance is being stopped: a liveness
// probe run during the grace period could fail and ask for a second kill.
func TestExec_StopEndsProbing(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	ran := filepath.Join(h.dir, "probe-ran")
	s := h.spec(workload, "--ignore-sigterm")
	s.Spec.LivenessProbe = &v1alpha1.Probe{PeriodSeconds: 1, TimeoutSeconds: 5,
		ProbeHandler: v1alpha1.ProbeHandler{Exec: &v1alpha1.ExecAction{Command: []string{"/bin/sh", "-c", "echo x >> " + ran}}}}
	h.startReady(s)
	runs := func() int {
		data, _ := os.ReadFile(ran)
		return strings.Count(string(data), "x")
	}
	waitFor(t, 10*time.Second, "the liveness probe to run", func() bool { return runs() >= 1 })
	if err := h.e.Stop(s.UID, runtime.StopSpec{Signal: syscall.SIGTERM, Grace: 4 * time.Second}); err != nil {
		t.Fatal(err)
	}
	atStop := runs()
	h.waitExit(s.UID, 15*time.Second)
	// One probe may have been under way when Stop came; none starts after.
	if n := runs(); n > atStop+1 {
		t.Errorf("the liveness probe ran %d times during the 4 s grace period, want none", n-atStop)
	}
}

// A StopSpec with no signal sends SIGTERM; a preStop hook of one word (a
// script) runs, its stderr into the instance's stderr log.
func TestExec_DefaultSignalAndAOneWordPreStop(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	s := h.spec(workload)
	h.startReady(s)
	script := filepath.Join(h.dir, "drain.sh")
	if err := os.WriteFile(script, []byte("#!/bin/sh\necho hook-stderr >&2\ntouch marker\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := h.e.Stop(s.UID, runtime.StopSpec{Grace: 10 * time.Second, PreStop: []string{script}}); err != nil {
		t.Fatal(err)
	}
	got := h.waitExit(s.UID, 8*time.Second)
	if got.Exit.Code != 0 || got.Exit.Signal != "" {
		t.Errorf("exit = %+v, want code 0 (SIGTERM handled), before the grace period's SIGKILL", *got.Exit)
	}
	if _, err := os.Stat(filepath.Join(h.dir, "marker")); err != nil {
		t.Errorf("the one-word preStop did not run: %v", err)
	}
	if log, _ := readLog(h.logPath(s, "stderr")); !strings.Contains(string(log), "hook-stderr\n") {
		t.Errorf("hook stderr missing from the instance's stderr log: %q", log)
	}
	if log, _ := readLog(h.logPath(s, "stdout")); strings.Contains(string(log), "hook-stderr") {
		t.Errorf("hook stderr in the instance's stdout log: %q", log)
	}
}
