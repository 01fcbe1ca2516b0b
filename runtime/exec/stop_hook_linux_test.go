package exec

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"proclet.dev/proclet/apis/v1alpha1"
	"proclet.dev/proclet/runtime"
	"proclet.dev/proclet/runtime/procfs"
)

// The paths of the stop sequence that the tests of stop_linux_test.go do
// not reach: a preStop hook that cannot be started or waited for, one that
// fails, leaves a child or outlives its instance, a Detach during a hook
// or a grace period, a StopAll that runs out of time. Each pins what the
// operator sees: the processes left (or not) and the log.

// loggedHarness is a harness whose Runtime logs into the returned buffer.
func loggedHarness(t *testing.T) (*harness, *syncBuffer) {
	t.Helper()
	logs := &syncBuffer{}
	h := newHarnessWith(t, Options{
		Env: []string{"PATH=/usr/local/bin:/usr/bin:/bin"},
		Log: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	})
	return h, logs
}

// waitLogged polls until the Runtime's log holds want.
func waitLogged(t *testing.T, logs *syncBuffer, want string) {
	t.Helper()
	waitFor(t, 5*time.Second, "log "+strconv.Quote(want), func() bool { return strings.Contains(logs.String(), want) })
}

// loggedPID reads the number after key= in a log the hook wrote.
func loggedPID(t *testing.T, log, key string) int {
	t.Helper()
	_, rest, ok := strings.Cut(log, key+"=")
	if !ok {
		t.Fatalf("no %s= in %q", key, log)
	}
	line, _, _ := strings.Cut(rest, "\n")
	pid, err := strconv.Atoi(strings.TrimSpace(line))
	if err != nil {
		t.Fatalf("%s=%q: %v", key, line, err)
	}
	return pid
}

// assertReaped polls until pid is gone from /proc: dead and reaped, not a
// zombie the stop forgot to wait for.
func assertReaped(t *testing.T, pid int, within time.Duration) {
	t.Helper()
	waitFor(t, within, "pid "+strconv.Itoa(pid)+" reaped", func() bool {
		_, ok := readProcStat(pid)
		return !ok
	})
}

// recvPID returns the hook's pid the seam saw, failing if it never runs.
func recvPID(t *testing.T, ch <-chan int) int {
	t.Helper()
	select {
	case pid := <-ch:
		return pid
	case <-time.After(5 * time.Second):
		t.Fatal("the hook's waiter was never made")
		return 0
	}
}

// setHookWaiter replaces newHookWaiter for one (not parallel) test.
func setHookWaiter(t *testing.T, f func(pid int) (*pidWaiter, error)) {
	t.Helper()
	saved := newHookWaiter
	newHookWaiter = f
	t.Cleanup(func() { newHookWaiter = saved })
}

// A hook that ran to its end: the stop signal comes after it, what it left
// in its group is killed, it is reaped, and the log says it is done.
func TestStop_HookRunsToItsEndAndWhatItLeftIsKilled(t *testing.T) {
	t.Parallel()
	h, logs := loggedHarness(t)
	s := h.spec(workload)
	h.startReady(s)
	hook := []string{"/bin/sh", "-c", "sleep 0.3; sleep 30 & echo child=$!; echo hook=$$; touch marker"}
	if err := h.e.Stop(s.UID, runtime.StopSpec{Signal: syscall.SIGTERM, Grace: 20 * time.Second, PreStop: hook}); err != nil {
		t.Fatal(err)
	}
	got := h.waitExit(s.UID, 8*time.Second)
	if got.Exit.Code != 0 || got.Exit.Signal != "" {
		t.Errorf("exit = %+v, want code 0 (SIGTERM after the hook)", *got.Exit)
	}
	if _, err := os.Stat(filepath.Join(h.dir, "marker")); err != nil {
		t.Errorf("the hook did not run to its end: %v", err)
	}
	log := h.waitLog(s, "stdout", "hook=", 5*time.Second)
	assertGone(t, []int{loggedPID(t, log, "child")})
	assertReaped(t, loggedPID(t, log, "hook"), 5*time.Second)
	waitLogged(t, logs, "preStop hook done")
	if strings.Contains(logs.String(), "preStop hook killed") || strings.Contains(logs.String(), "preStop hook failed") {
		t.Errorf("a hook that exited 0 logged as killed or failed:\n%s", logs)
	}
}

// A hook that exits non-zero is logged as failed with its status; the stop
// goes on, and the SIGKILL after the grace period is logged.
func TestStop_FailingHookAndTheKillAreLogged(t *testing.T) {
	t.Parallel()
	h, logs := loggedHarness(t)
	s := h.spec(workload, "--ignore-sigterm")
	h.startReady(s)
	if err := h.e.Stop(s.UID, runtime.StopSpec{Signal: syscall.SIGTERM, Grace: 100 * time.Millisecond, PreStop: []string{"/bin/sh", "-c", "exit 3"}}); err != nil {
		t.Fatal(err)
	}
	if got := h.waitExit(s.UID, 8*time.Second); got.Exit.Signal != "SIGKILL" {
		t.Errorf("exit = %+v, want SIGKILL", *got.Exit)
	}
	waitLogged(t, logs, "grace period over; killed the process group")
	if l := logs.String(); !strings.Contains(l, "preStop hook failed") || !strings.Contains(l, "exit status 3") {
		t.Errorf("log lacks the hook's failure and exit status:\n%s", l)
	}
}

// A hook that resolves but cannot be executed (its interpreter is missing),
// or does not resolve at all, is logged with the OS's reason, and the stop
// signal is still sent at once.
func TestStop_HookThatCannotStartStillStops(t *testing.T) {
	t.Parallel()
	h, logs := loggedHarness(t)
	script := filepath.Join(h.dir, "hook.sh")
	if err := os.WriteFile(script, []byte("#!/nonexistent/interpreter\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, hook := range []string{script, "/nonexistent/hook"} {
		s := h.spec(workload)
		h.startReady(s)
		if err := h.e.Stop(s.UID, runtime.StopSpec{Signal: syscall.SIGTERM, Grace: 20 * time.Second, PreStop: []string{hook}}); err != nil {
			t.Fatal(err)
		}
		if got := h.waitExit(s.UID, 5*time.Second); got.Exit.Code != 0 || got.Exit.Signal != "" {
			t.Errorf("%s: exit = %+v, want code 0 (SIGTERM at once)", hook, *got.Exit)
		}
		waitLogged(t, logs, "exec "+hook+": ")
	}
	if l := logs.String(); strings.Count(l, "preStop hook failed") != 2 || strings.Count(l, "no such file or directory") != 2 {
		t.Errorf("want two failures with the OS's reason:\n%s", l)
	}
}

// When the hook's waiter cannot be made (pidfd_open refused), the hook's
// group is killed and reaped at once, and the stop signal follows.
func TestStop_HookWaiterRefusedKillsTheHookAndStopGoesOn(t *testing.T) {
	h, logs := loggedHarness(t)
	s := h.spec(workload)
	h.startReady(s)
	hookPID := make(chan int, 1)
	setHookWaiter(t, func(pid int) (*pidWaiter, error) {
		hookPID <- pid
		h.waitLog(s, "stdout", "child=", 5*time.Second) // the hook's child is there
		return nil, errors.New("pidfd_open refused by the test")
	})
	hook := []string{"/bin/sh", "-c", "sleep 30 & echo child=$!; exec sleep 30"}
	if err := h.e.Stop(s.UID, runtime.StopSpec{Signal: syscall.SIGTERM, Grace: 20 * time.Second, PreStop: hook}); err != nil {
		t.Fatal(err)
	}
	if got := h.waitExit(s.UID, 5*time.Second); got.Exit.Code != 0 || got.Exit.Signal != "" {
		t.Errorf("exit = %+v, want code 0 (SIGTERM right after the hook failed)", *got.Exit)
	}
	assertReaped(t, recvPID(t, hookPID), 5*time.Second)
	assertGone(t, []int{loggedPID(t, h.waitLog(s, "stdout", "child=", time.Second), "child")})
	waitLogged(t, logs, "pidfd_open refused by the test")
}

// An instance that exits while its hook is being started (before the hook
// could be registered for cancelling) gets its hook killed at once, not
// at the end of the grace period.
func TestStop_InstanceGoneAsTheHookStartsCancelsIt(t *testing.T) {
	h, logs := loggedHarness(t)
	s := h.spec(workload)
	st := h.startReady(s)
	hookPID := make(chan int, 1)
	setHookWaiter(t, func(pid int) (*pidWaiter, error) {
		hookPID <- pid
		unix.Kill(st.PID, unix.SIGKILL)
		h.waitExit(s.UID, 5*time.Second)
		return newPidWaiter(pid)
	})
	if err := h.e.Stop(s.UID, runtime.StopSpec{Signal: syscall.SIGTERM, Grace: 30 * time.Second, PreStop: []string{"/bin/sleep", "30"}}); err != nil {
		t.Fatal(err)
	}
	assertReaped(t, recvPID(t, hookPID), 5*time.Second)
	waitLogged(t, logs, "preStop hook killed")
}

// An instance that exits while its hook runs gets its hook killed at once.
func TestStop_InstanceExitDuringTheHookKillsIt(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	s := h.spec(workload)
	st := h.startReady(s)
	if err := h.e.Stop(s.UID, runtime.StopSpec{Signal: syscall.SIGTERM, Grace: 30 * time.Second, PreStop: []string{"/bin/sh", "-c", "echo hook=$$; exec sleep 30"}}); err != nil {
		t.Fatal(err)
	}
	pid := loggedPID(t, h.waitLog(s, "stdout", "hook=", 5*time.Second), "hook")
	unix.Kill(st.PID, unix.SIGKILL)
	h.waitExit(s.UID, 5*time.Second)
	assertReaped(t, pid, 5*time.Second)
}

// Detach during a hook leaves the hook and the instance running (the next
// daemon adopts the instance) and returns at once.
func TestStop_DetachDuringTheHookLeavesBothRunning(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	s := h.spec(workload)
	st := h.startReady(s)
	if err := h.e.Stop(s.UID, runtime.StopSpec{Signal: syscall.SIGTERM, Grace: 30 * time.Second, PreStop: []string{"/bin/sh", "-c", "echo hook=$$; exec sleep 30"}}); err != nil {
		t.Fatal(err)
	}
	pid := loggedPID(t, h.waitLog(s, "stdout", "hook=", 5*time.Second), "hook")
	t.Cleanup(func() {
		unix.Kill(-pid, unix.SIGKILL)
		var ws unix.WaitStatus
		unix.Wait4(pid, &ws, 0, nil) // released by Detach: ours to reap
	})
	detachWithin(t, h, 5*time.Second)
	if n := pidfdsOf(pid); n != 0 {
		t.Errorf("after Detach the daemon still holds %d pidfd(s) of the hook it left running", n)
	}
	// A stop signal sent after Detach would be sent before Detach returns
	// (it waits for the stopper), and the workload exits on it within
	// milliseconds: half a second of watching catches it.
	staysAlive(t, 500*time.Millisecond, st.PID, pid)
	if _, err := h.e.Start(t.Context(), h.spec(workload)); !errors.Is(err, runtime.ErrClosed) {
		t.Errorf("Start after Detach: %v, want ErrClosed", err)
	}
}

// Detach during the grace period ends the stop: no SIGKILL comes.
func TestStop_DetachDuringTheGracePeriodEndsTheStop(t *testing.T) {
	t.Parallel()
	h, logs := loggedHarness(t)
	s := h.spec("/bin/sh", "-c", `trap "echo got-term" TERM; echo up; while :; do sleep 0.1; done`)
	st := h.start(s)
	h.waitLog(s, "stdout", "up", 5*time.Second)
	if err := h.e.Stop(s.UID, runtime.StopSpec{Signal: syscall.SIGTERM, Grace: 30 * time.Second}); err != nil {
		t.Fatal(err)
	}
	h.waitLog(s, "stdout", "got-term", 5*time.Second)
	detachWithin(t, h, 5*time.Second)
	staysAlive(t, 500*time.Millisecond, st.PID) // a SIGKILL would come before Detach returns
	if strings.Contains(logs.String(), "grace period over") {
		t.Errorf("SIGKILL after Detach:\n%s", logs)
	}
}

// staysAlive fails the test if one of pids dies (or is a zombie) within d.
func staysAlive(t *testing.T, d time.Duration, pids ...int) {
	t.Helper()
	for end := time.Now().Add(d); time.Now().Before(end); {
		for _, pid := range pids {
			if !alive(pid) {
				t.Fatalf("pid %d died after Detach", pid)
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// pidfdsOf counts this process's open pidfds of pid (their fdinfo names it).
func pidfdsOf(pid int) int {
	fds, _ := os.ReadDir("/proc/self/fdinfo")
	n := 0
	for _, fd := range fds {
		info, _ := os.ReadFile("/proc/self/fdinfo/" + fd.Name())
		if strings.Contains(string(info), "\nPid:\t"+strconv.Itoa(pid)+"\n") {
			n++
		}
	}
	return n
}

// detachWithin runs Detach and fails the test if it takes longer than d.
func detachWithin(t *testing.T, h *harness, d time.Duration) {
	t.Helper()
	h.mu.Lock()
	h.detached = true
	h.mu.Unlock()
	done := make(chan struct{})
	go func() { h.e.Detach(); close(done) }()
	select {
	case <-done:
	case <-time.After(d):
		t.Fatalf("Detach still running after %v", d)
	}
}

// A StopAll whose context ends returns the context's error then, with the
// instances left, and does not wait for the grace periods.
func TestStop_StopAllReturnsWhenTheContextEnds(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	thirty := int64(30)
	s := h.spec(workload, "--ignore-sigterm")
	s.Spec.TerminationGracePeriodSeconds = &thirty
	h.startReady(s)
	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	begin := time.Now()
	err := h.e.StopAll(ctx, "DaemonShutdown")
	if took := time.Since(begin); took > 5*time.Second {
		t.Errorf("StopAll took %v after its context ended", took)
	}
	if err == nil || !strings.Contains(err.Error(), "stop all: 1 of 1 instances still running") {
		t.Errorf("StopAll = %v, want 1 of 1 still running", err)
	}
	if _, err := h.e.Start(t.Context(), h.spec(workload)); !errors.Is(err, runtime.ErrClosed) {
		t.Errorf("Start after StopAll: %v, want ErrClosed", err)
	}
}

// The least positive grace still runs the hook and sends the stop signal
// first, with its 2 s floor; only a zero grace kills at once.
func TestStop_TheLeastGraceStillSignalsFirst(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	s := h.spec(workload, "--ignore-sigterm")
	h.startReady(s)
	begin := time.Now()
	if err := h.e.Stop(s.UID, runtime.StopSpec{Signal: syscall.SIGTERM, Grace: time.Nanosecond}); err != nil {
		t.Fatal(err)
	}
	got := h.waitExit(s.UID, 8*time.Second)
	if took := got.Exit.At.Sub(begin); took < minGrace {
		t.Errorf("a grace of 1ns killed after %v, before the %v floor", took, minGrace)
	}
}

// StopAll returns once every exit is recorded and its output written, not
// when the processes are gone: here the output is held open by a child in
// a session of its own, so the drain takes its 2 s bound.
func TestStop_StopAllWaitsForTheOutputToBeWritten(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	s := h.spec(workload, "--setsid-child")
	h.start(s)
	escaped := childPIDs(h.waitLog(s, "stdout", "child pid=", 5*time.Second))
	h.mu.Lock()
	for _, pid := range escaped { // its own group: cleaned up by pid
		h.pids = append(h.pids, startedPID{pid, procfs.StartTicks(pid)})
	}
	h.mu.Unlock()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if err := h.e.StopAll(ctx, "DaemonShutdown"); err != nil {
		t.Fatal(err)
	}
	if st, _ := h.find(s.UID); st.Exit == nil || st.Exit.Reason != "DaemonShutdown" {
		t.Errorf("state when StopAll returned: %+v, want the exit recorded", st)
	}
}

// Detach writes instances.json itself, with every instance, for the next
// daemon: here no Run loop flushes it, so Detach's write is the only one.
func TestStop_DetachWritesEveryInstanceForTheNextDaemon(t *testing.T) {
	t.Parallel()
	state := t.TempDir()
	e, err := New(Options{StateDir: state, Log: slog.New(slog.DiscardHandler), Env: []string{"PATH=/usr/bin:/bin"}})
	if err != nil {
		t.Fatal(err)
	}
	st, err := e.Start(t.Context(), runtime.StartSpec{UID: "uid-detach", App: "web", Instance: "web-0", Revision: "rev1",
		Spec: &v1alpha1.AppSpec{Command: []string{"/bin/sleep", "100"}}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		unix.Kill(-st.PID, unix.SIGKILL)
		var ws unix.WaitStatus
		unix.Wait4(st.PID, &ws, 0, nil) // left by Detach: ours to reap
	})
	e.Detach()
	data, err := os.ReadFile(filepath.Join(state, instancesFileName))
	if err != nil || !strings.Contains(string(data), `"uid-detach"`) {
		t.Errorf("instances.json after Detach: %q, %v; want the instance", data, err)
	}
}

// A zero grace is SIGKILL and nothing else: no hook is started, even after
// the kill. StopAll waits for the stopper, so its log is complete then.
func TestStop_ZeroGraceNeverStartsTheHook(t *testing.T) {
	t.Parallel()
	h, logs := loggedHarness(t)
	s := h.spec(workload, "--ignore-sigterm")
	h.start(s)
	if err := h.e.Stop(s.UID, runtime.StopSpec{Grace: 0, PreStop: []string{"/bin/true"}}); err != nil {
		t.Fatal(err)
	}
	h.waitExit(s.UID, 5*time.Second)
	if err := h.e.StopAll(t.Context(), "Test"); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(logs.String(), "preStop") {
		t.Errorf("a zero grace started the hook:\n%s", logs)
	}
}
