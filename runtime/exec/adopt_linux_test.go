package exec

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
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

// logRecorder is a slog handler that keeps the messages of Error records.
type logRecorder struct{ errors chan string }

func (l *logRecorder) Handle(_ context.Context, r slog.Record) error {
	if r.Level >= slog.LevelError {
		select {
		case l.errors <- r.Message:
		default:
		}
	}
	return nil
}

func (l *logRecorder) Enabled(context.Context, slog.Level) bool { return true }
func (l *logRecorder) WithAttrs([]slog.Attr) slog.Handler       { return l }
func (l *logRecorder) WithGroup(string) slog.Handler            { return l }

// killMarked kills every process whose environment carries uid, but for
// the members of process group except: what an instance left outside its
// group (setsid).
func killMarked(uid string, except int) {
	entries, _ := os.ReadDir("/proc")
	for _, ent := range entries {
		pid, err := strconv.Atoi(ent.Name())
		if err != nil {
			continue
		}
		if st, ok := readProcStat(pid); !ok || st.pgid == except {
			continue
		}
		if env, err := procfs.ReadEnviron(pid); err == nil {
			if v, _ := procfs.EnvValue(env, envUID); v == uid {
				unix.Kill(pid, unix.SIGKILL)
			}
		}
	}
}

// reopen is a second Runtime (a new daemon) on h's state dir, with Run
// going; it stops every instance it holds when the test ends.
func (h *harness) reopen(log *slog.Logger) *Runtime {
	h.t.Helper()
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	e, err := New(Options{StateDir: h.state, Log: log, Env: []string{"PATH=/usr/local/bin:/usr/bin:/bin"}})
	if err != nil {
		h.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	runDone := make(chan error, 1)
	go func() { runDone <- e.Run(ctx) }()
	h.t.Cleanup(func() {
		sctx, scancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer scancel()
		if err := e.StopAll(sctx, "TestCleanup"); err != nil {
			h.t.Errorf("cleanup of the second exec: %v", err)
		}
		cancel()
		<-runDone
	})
	return e
}

// detach detaches h's Runtime as a daemon leaving with --on-exit keep (or
// killed: the instances do not notice the difference).
func (h *harness) detach() {
	h.mu.Lock()
	h.detached = true
	h.mu.Unlock()
	h.e.Detach()
}

func byUID(states []runtime.State) map[string]runtime.State {
	m := map[string]runtime.State{}
	for _, s := range states {
		m[s.UID] = s
	}
	return m
}

// seqs returns the numbers of the "<instance> stdout <n>" lines of a log,
// failing the test on any other line.
func seqs(t *testing.T, path, instance string) []int {
	t.Helper()
	data, err := readLog(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []int
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		v, ok := strings.CutPrefix(sc.Text(), instance+" stdout ")
		n, err := strconv.Atoi(v)
		if !ok || err != nil {
			t.Fatalf("%s: unexpected line %q", path, sc.Text())
		}
		out = append(out, n)
	}
	return out
}

// checkContinuous fails unless ns is 1, 2, ... n: every line once, in order.
func checkContinuous(t *testing.T, what string, ns []int) {
	t.Helper()
	for i, n := range ns {
		if n != i+1 {
			t.Fatalf("%s: line %d is number %d, want %d (lost or duplicated lines)", what, i+1, n, i+1)
		}
	}
}

func lastSeq(t *testing.T, path, instance string) int {
	ns := seqs(t, path, instance)
	if len(ns) == 0 {
		return 0
	}
	return ns[len(ns)-1]
}

// TestAdopt_AfterDetach: a new Runtime on the state dir of one that left its
// instances running adopts them: same PIDs, running, output continuous
// across the gap, stoppable, and their exits noticed.
func TestAdopt_AfterDetach(t *testing.T) {
	a := newHarness(t)
	var specs []runtime.StartSpec
	pids := map[string]int{}
	for range 3 {
		s := a.spec(workload, "--stdout-rate", "200")
		specs = append(specs, s)
		pids[s.UID] = a.start(s).PID
	}
	for _, s := range specs {
		a.waitLog(s, "stdout", s.Instance+" stdout 20\n", 5*time.Second)
	}
	a.detach()
	// They keep running and writing while no daemon reads.
	for _, s := range specs {
		pid := pids[s.UID]
		before := wchar(t, pid)
		waitFor(t, 5*time.Second, "writes while detached", func() bool { return wchar(t, pid) > before+200 })
		if !alive(pid) {
			t.Fatalf("%s died after Detach", s.Instance)
		}
	}
	gap := map[string]int{}
	for _, s := range specs {
		gap[s.UID] = lastSeq(t, a.logPath(s, "stdout"), s.Instance)
	}

	b := a.reopen(nil)
	got := byUID(b.Instances("web"))
	if len(got) != 3 {
		t.Fatalf("adopted %d instances, want 3: %+v", len(got), got)
	}
	for uid, pid := range pids {
		s := got[uid]
		if s.PID != pid || !s.Running() || s.Stopping || !s.Probe.Ready {
			t.Fatalf("adopted %s: %+v, want pid %d running and ready", uid, s, pid)
		}
	}
	if _, err := b.Start(t.Context(), specs[0]); err == nil {
		t.Fatal("Start of an adopted uid succeeded: two processes for one instance")
	}
	for _, s := range specs {
		want := fmt.Sprintf("%s stdout %d\n", s.Instance, gap[s.UID]+300)
		a.waitLog(s, "stdout", want, 10*time.Second)
	}

	// Stop through the new Exec: the process ends, its output is complete.
	stopped := specs[0]
	if err := b.Stop(stopped.UID, runtime.StopSpec{Signal: unix.SIGTERM, Grace: 10 * time.Second, Reason: "Stopped"}); err != nil {
		t.Fatal(err)
	}
	var st runtime.State
	waitFor(t, 10*time.Second, "the stopped instance's exit", func() bool {
		st = byUID(b.Instances("web"))[stopped.UID]
		return st.Exit != nil
	})
	if st.Exit.Reason != "Stopped" || alive(pids[stopped.UID]) {
		t.Fatalf("after Stop: exit %+v, alive %v", st.Exit, alive(pids[stopped.UID]))
	}
	ns := seqs(t, a.logPath(stopped, "stdout"), stopped.Instance)
	checkContinuous(t, stopped.Instance, ns)
	if ns[len(ns)-1] <= gap[stopped.UID] {
		t.Fatalf("no line after the gap: last %d, %d at the gap", ns[len(ns)-1], gap[stopped.UID])
	}
	if _, err := os.Stat(fifoPath(b.runDir, stopped.UID, "stdout")); !isNotExist(err) {
		t.Fatalf("FIFO of the stopped instance left behind: %v", err)
	}

	// An exit of an adopted instance that nobody asked for: Unknown.
	crashed := specs[1]
	unix.Kill(pids[crashed.UID], unix.SIGKILL)
	waitFor(t, 5*time.Second, "the crashed instance's exit", func() bool {
		st = byUID(b.Instances("web"))[crashed.UID]
		return st.Exit != nil
	})
	if st.Exit.Reason != ExitReasonUnknown || st.Exit.Code != unknownExitCode {
		t.Fatalf("exit of a killed adopted instance: %+v, want Unknown", st.Exit)
	}
	checkContinuous(t, crashed.Instance, seqs(t, a.logPath(crashed, "stdout"), crashed.Instance))
	// Released, the uid may run again.
	b.Release(crashed.UID)
	crashed.Spec = &v1alpha1.AppSpec{Command: []string{workload}}
	if _, err := b.Start(t.Context(), crashed); err != nil {
		t.Fatalf("restart of a released uid: %v", err)
	}
}

// TestAdopt_StateFile: instances.json follows starts, exits and releases,
// and keeps the spec, ports, start time and probe status a new daemon
// carries on with: ports held, a ready instance still ready.
func TestAdopt_StateFile(t *testing.T) {
	a := newHarness(t)
	s := a.spec(workload)
	s.Spec.Ports = []v1alpha1.PortSpec{{Name: "http", Range: "31000-31999"}}
	s.Spec.ReadinessProbe = &v1alpha1.Probe{ProbeHandler: v1alpha1.ProbeHandler{
		TCPSocket: &v1alpha1.TCPSocketAction{Port: v1alpha1.IntOrString{IsString: true, StrVal: "http"}}},
		PeriodSeconds: 1}
	st := a.start(s)
	var ready runtime.State
	waitFor(t, 10*time.Second, "ready", func() bool {
		ready, _ = a.find(s.UID)
		return ready.Probe.Ready
	})
	var recs []instanceRecord
	waitFor(t, 5*time.Second, "the ready instance in instances.json", func() bool {
		var f instancesFile
		b, _ := os.ReadFile(filepath.Join(a.state, instancesFileName))
		if json.Unmarshal(b, &f) != nil {
			return false
		}
		recs = f.Instances
		return len(recs) == 1 && recs[0].Probe.Ready
	})
	r := recs[0]
	if r.UID != s.UID || r.PID != st.PID || r.StartTicks != procfs.StartTicks(st.PID) || !r.StartedAt.Equal(st.StartedAt) ||
		r.Spec == nil || r.Ports["http"] != st.Ports["http"] || r.Revision != "rev1" {
		t.Fatalf("record %+v does not match the instance %+v", r, st)
	}
	a.detach()

	b := a.reopen(nil)
	got := byUID(b.Instances("web"))[s.UID]
	if got.PID != st.PID || !got.Probe.Ready || !got.Probe.ReadySince.Equal(ready.Probe.ReadySince) ||
		!got.StartedAt.Equal(st.StartedAt) || got.Ports["http"] != st.Ports["http"] {
		t.Fatalf("adopted %+v, want pid %d ready since %v, port %d", got, st.PID, ready.Probe.ReadySince, st.Ports["http"])
	}
	// Its port stays its own.
	other := s
	other.UID, other.Instance, other.Ordinal = "uid-other", "web-9", 9
	st2, err := b.Start(t.Context(), other)
	if err != nil {
		t.Fatal(err)
	}
	a.mu.Lock()
	a.pids = append(a.pids, startedPID{st2.PID, procfs.StartTicks(st2.PID)})
	a.mu.Unlock()
	if st2.Ports["http"] == st.Ports["http"] {
		t.Fatalf("a new instance got the adopted instance's port %d", st2.Ports["http"])
	}
	// Exits and releases leave the file.
	unix.Kill(st2.PID, unix.SIGKILL)
	waitFor(t, 5*time.Second, "exit", func() bool { s, _ := byUID(b.Instances("web"))[other.UID]; return s.Exit != nil })
	b.Release(other.UID)
	waitFor(t, 5*time.Second, "the released instance out of instances.json", func() bool {
		data, _ := os.ReadFile(filepath.Join(a.state, instancesFileName))
		return bytes.Contains(data, []byte(s.UID)) && !bytes.Contains(data, []byte(other.UID))
	})
}

// TestAdopt_RecycledPID: a record whose PID now names another process
// (another start time, or no marker) is not adopted and not signalled:
// the uid is reported exited, Unknown, and the process lives on.
func TestAdopt_RecycledPID(t *testing.T) {
	state := t.TempDir()
	sleep := exec.Command("sleep", "100")
	sleep.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := sleep.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Kill(-sleep.Process.Pid, unix.SIGKILL); sleep.Wait() })
	pid := sleep.Process.Pid
	ticks := procfs.StartTicks(pid)
	if ticks == 0 {
		t.Fatal("no start time for sleep")
	}
	spec := &v1alpha1.AppSpec{Command: []string{"sleep", "100"}}
	f := instancesFile{Version: instancesVersion, Instances: []instanceRecord{
		{UID: "wrong-start", App: "web", Instance: "web-0", Ordinal: 0, Revision: "r", Spec: spec, PID: pid,
			StartTicks: ticks + 1, StartedAt: time.Now()},
		{UID: "no-marker", App: "web", Instance: "web-1", Ordinal: 1, Revision: "r", Spec: spec, PID: pid,
			StartTicks: ticks, StartedAt: time.Now(), Probe: probeRecord{Started: true, Ready: true}},
	}}
	data, _ := json.Marshal(f)
	if err := os.WriteFile(filepath.Join(state, instancesFileName), data, 0o644); err != nil {
		t.Fatal(err)
	}
	e, err := New(Options{StateDir: state, Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	got := e.Instances("web")
	if len(got) != 2 {
		t.Fatalf("%d handles, want 2 exited ones", len(got))
	}
	for _, s := range got {
		if s.Exit == nil || s.Exit.Reason != ExitReasonUnknown || s.Probe.Ready {
			t.Fatalf("%s: %+v, want exited (Unknown), not ready", s.UID, s)
		}
		if err := e.Stop(s.UID, runtime.StopSpec{Signal: unix.SIGKILL, Grace: 0}); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.StopAll(t.Context(), "Stopped"); err != nil {
		t.Fatal(err)
	}
	if !alive(pid) {
		t.Fatal("the process of a recycled PID was signalled")
	}
	if apps := e.Apps(); !slices.Equal(apps, []string{"web"}) {
		t.Fatalf("Apps() = %v", apps)
	}
}

// TestAdopt_ByMarker: with instances.json corrupt, missing or behind (an
// instance started after its last write), the instances are found by the
// marker in their environment; their children and a setsid escapee are not
// instances of their own.
func TestAdopt_ByMarker(t *testing.T) {
	for _, tc := range []struct {
		name    string
		damage  func(t *testing.T, path string, keep string)
		errLogs bool
	}{
		{"corrupt", func(t *testing.T, path, _ string) { os.WriteFile(path, []byte(`{"version": 1, "inst`), 0o644) }, true},
		{"missing", func(t *testing.T, path, _ string) { os.Remove(path) }, true},
		{"behind", func(t *testing.T, path, keep string) {
			var f instancesFile
			data, _ := os.ReadFile(path)
			if err := json.Unmarshal(data, &f); err != nil {
				t.Fatal(err)
			}
			f.Instances = slices.DeleteFunc(f.Instances, func(r instanceRecord) bool { return r.UID != keep })
			data, _ = json.Marshal(f)
			os.WriteFile(path, data, 0o644)
		}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := newHarness(t)
			s0 := a.spec(workload, "--children", "1", "--setsid-child")
			s0.Spec.Ports = []v1alpha1.PortSpec{{Name: "metrics-v2", Range: "32000-32999"}}
			s1 := a.spec(workload)
			s1.Revision = "rev2"
			t.Cleanup(func() { killMarked(s0.UID, 0) })
			st0, st1 := a.startReady(s0), a.startReady(s1)
			a.detach()
			tc.damage(t, filepath.Join(a.state, instancesFileName), s1.UID)

			rec := &logRecorder{errors: make(chan string, 16)}
			b := a.reopen(slog.New(rec))
			got := byUID(b.Instances("web"))
			if len(got) != 2 {
				t.Fatalf("%d instances found, want 2: %+v", len(got), got)
			}
			g0, g1 := got[s0.UID], got[s1.UID]
			if g0.PID != st0.PID || g1.PID != st1.PID || !g0.Running() || !g1.Running() {
				t.Fatalf("found %+v and %+v, want pids %d and %d running", g0, g1, st0.PID, st1.PID)
			}
			if g0.Instance != "web-0" || g0.Ordinal != 0 || g0.Revision != "rev1" || g1.Revision != "rev2" ||
				g0.Ports["metrics-v2"] != st0.Ports["metrics-v2"] || !g0.Probe.Ready {
				t.Fatalf("identity from the marker: %+v %+v, ports want %v", g0, g1, st0.Ports)
			}
			if tc.errLogs {
				select {
				case <-rec.errors:
				default:
					t.Fatal("a missing or corrupt state file was not logged as an error")
				}
			}
			// Stopped with the default spec, the whole group goes (the
			// escapee first, or its output would be waited for).
			killMarked(s0.UID, st0.PID)
			if err := b.Stop(s0.UID, runtime.StopSpecFor(nil, "Stopped")); err != nil {
				t.Fatal(err)
			}
			waitFor(t, 10*time.Second, "group stopped", func() bool { return len(liveGroup(st0.PID)) == 0 })
		})
	}
}

// TestAdopt_GoneWhileAway: an instance that exited while no daemon ran is
// an exited handle (Unknown) with its FIFOs removed, ready for Release.
func TestAdopt_GoneWhileAway(t *testing.T) {
	a := newHarness(t)
	s := a.spec(workload)
	st := a.start(s)
	a.detach()
	unix.Kill(st.PID, unix.SIGKILL)
	var ws unix.WaitStatus
	unix.Wait4(st.PID, &ws, 0, nil) // we are its parent here

	b := a.reopen(nil)
	got := byUID(b.Instances("web"))[s.UID]
	if got.Exit == nil || got.Exit.Reason != ExitReasonUnknown || got.PID != st.PID || !got.StartedAt.Equal(st.StartedAt) {
		t.Fatalf("gone instance: %+v", got)
	}
	select {
	case ev := <-b.Events():
		if ev.UID != s.UID {
			t.Fatalf("event %+v", ev)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no event for the instance gone while away")
	}
	for _, stream := range streams {
		if _, err := os.Stat(fifoPath(b.runDir, s.UID, stream)); !isNotExist(err) {
			t.Fatalf("FIFO %s left: %v", stream, err)
		}
	}
	b.Release(s.UID)
	if len(b.Instances("web")) != 0 {
		t.Fatal("not released")
	}
}

// TestAdopt_PollFallback: without pidfd_open the exit of an adopted
// instance is noticed by polling /proc, and Detach ends the polling.
func TestAdopt_PollFallback(t *testing.T) {
	e, err := New(Options{StateDir: t.TempDir(), Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	start := func() *exec.Cmd {
		c := exec.Command("sleep", "100")
		c.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		if err := c.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { unix.Kill(-c.Process.Pid, unix.SIGKILL); c.Wait() })
		return c
	}
	c := start()
	w, unwatch, err := e.pollExit(c.Process.Pid, procfs.StartTicks(c.Process.Pid))
	if err != nil {
		t.Fatal(err)
	}
	if waiterFired(w) {
		t.Fatal("fired while the process runs")
	}
	unix.Kill(c.Process.Pid, unix.SIGKILL)
	if !w.Wait() {
		t.Fatal("Wait returned false: exit not noticed")
	}
	unwatch()
	w.Close()

	c2 := start()
	w2, unwatch2, err := e.pollExit(c2.Process.Pid, procfs.StartTicks(c2.Process.Pid))
	if err != nil {
		t.Fatal(err)
	}
	defer unwatch2()
	defer w2.Close()
	e.Detach() // waits for the polling goroutine
	if !alive(c2.Process.Pid) {
		t.Fatal("Detach killed the process")
	}
}

// TestAdopt_ExitBeforeRelease: an exit the last daemon saw but nobody
// released is reported as it was (its code, not Unknown); a planned stop
// ("Stopped") is not kept for the next daemon.
func TestAdopt_ExitBeforeRelease(t *testing.T) {
	a := newHarness(t)
	failed := a.spec(workload, "--exit-after", "0", "--exit-code", "3")
	stopped := a.spec(workload)
	a.start(failed)
	a.start(stopped)
	a.waitExit(failed.UID, 5*time.Second)
	if err := a.e.Stop(stopped.UID, runtime.StopSpec{Signal: unix.SIGTERM, Grace: 5 * time.Second, Reason: "Stopped"}); err != nil {
		t.Fatal(err)
	}
	a.waitExit(stopped.UID, 5*time.Second)
	a.detach()

	b := a.reopen(nil)
	got := byUID(b.Instances("web"))
	if len(got) != 1 {
		t.Fatalf("handles %+v, want only the failed one", got)
	}
	if x := got[failed.UID].Exit; x == nil || x.Code != 3 || x.Reason != "Error" {
		t.Fatalf("exit of the failed instance: %+v, want code 3, Error", x)
	}
}
