package exec

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"proclet.dev/proclet/apis/v1alpha1"
	"proclet.dev/proclet/runtime"
	"proclet.dev/proclet/runtime/logfile"
)

// withSteps gives s the init steps, each a /bin/sh script.
func withSteps(s runtime.StartSpec, steps ...v1alpha1.InitCommand) runtime.StartSpec {
	spec := *s.Spec
	spec.InitCommands = steps
	s.Spec = &spec
	return s
}

func shStep(name, script string) v1alpha1.InitCommand {
	return v1alpha1.InitCommand{Name: name, Command: []string{"/bin/sh", "-c", script}}
}

// initLog reads the stream of step of s as printed.
func (h *harness) initLog(s runtime.StartSpec, step, stream string) string {
	data, _ := readLog(logfile.InitPath(h.state, s.App, s.Instance, step, stream))
	return string(data)
}

// waitInit polls until uid's Init is want.
func (h *harness) waitInit(e *Runtime, uid string, want runtime.InitProgress) runtime.State {
	h.t.Helper()
	var st runtime.State
	waitFor(h.t, 10*time.Second, "init progress "+uid, func() bool {
		st = byUID(e.Instances("web"))[uid]
		return st.Init == want
	})
	return st
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	return string(data)
}

// TestInit_StepsThenCommand: the steps run in order, each to its end,
// with the instance's env plus their own, their output in their own log
// files; while the second runs the instance is Init 1/2 and not ready;
// then the command runs under the instance's PID (exec'd by the runner),
// ready, with Init 2/2.
func TestInit_StepsThenCommand(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	order := filepath.Join(h.dir, "order")
	s := h.spec("/bin/sh", "-c", "echo main >> order; echo main-out; exec sleep 60")
	second := shStep("wait", "echo b$STEP_VAR >> order; while [ ! -e go ]; do sleep 0.02; done")
	second.Env = []v1alpha1.EnvVar{{Name: "STEP_VAR", Value: "-$(PROCLET_INSTANCE)"}}
	s = withSteps(s, shStep("first", "echo a >> order; echo first-out; echo first-err >&2"), second)
	st := h.start(s)
	if st.Init != (runtime.InitProgress{Total: 2, Name: "first"}) || st.Probe.Ready {
		t.Fatalf("at the start: init %+v, probe %+v; want 0/2 first, not ready", st.Init, st.Probe)
	}
	got := h.waitInit(h.e, s.UID, runtime.InitProgress{Done: 1, Total: 2, Name: "wait"})
	if got.Probe.Ready || got.Probe.Started {
		t.Fatalf("probe %+v during the init steps, want neither started nor ready", got.Probe)
	}
	if err := os.WriteFile(filepath.Join(h.dir, "go"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	got = h.waitInit(h.e, s.UID, runtime.InitProgress{Done: 2, Total: 2})
	h.waitLog(s, "stdout", "main-out", 5*time.Second)
	if want := "a\nb-" + s.Instance + "\nmain\n"; readFile(t, order) != want {
		t.Fatalf("order %q, want %q", readFile(t, order), want)
	}
	if !got.Probe.Ready || got.PID != st.PID {
		t.Fatalf("state %+v: want ready, pid %d", got, st.PID)
	}
	if argv, _ := os.ReadFile("/proc/" + strconv.Itoa(st.PID) + "/cmdline"); !strings.HasPrefix(string(argv), "sleep\x00") {
		t.Fatalf("pid %d runs %q, want the command (exec'd)", st.PID, argv)
	}
	if out, errs := h.initLog(s, "first", "stdout"), h.initLog(s, "first", "stderr"); out != "first-out\n" || errs != "first-err\n" {
		t.Fatalf("step logs %q, %q", out, errs)
	}
	raw, _ := os.ReadFile(logfile.InitPath(h.state, s.App, s.Instance, "first", "stdout"))
	if l := logfile.ParseLine([]byte(strings.Split(string(raw), "\n")[1])); l.Stream != "stdout" || string(l.Text) != "first-out" || l.Time.IsZero() {
		t.Fatalf("step log line %q parsed as %+v, want a CRI line", raw, l)
	}
	if main, _ := readLog(h.logPath(s, "stdout")); strings.Contains(string(main), "first-out") {
		t.Fatalf("the step's output is in the instance's log: %q", main)
	}
}

// TestInit_FailedStep: a step that exits 3 ends the attempt: the exit is
// InitFailed with its code, Init names the step, and neither the next
// step nor the command ran.
func TestInit_FailedStep(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	order := filepath.Join(h.dir, "order")
	s := withSteps(h.spec("/bin/sh", "-c", "echo main >> order"),
		shStep("ok", "echo a >> order"), shStep("migrate", "echo oops >&2; exit 3"), shStep("never", "echo c >> order"))
	h.start(s)
	got := h.waitExit(s.UID, 10*time.Second)
	if got.Exit.Code != 3 || got.Exit.Reason != runtime.ExitReasonInitFailed {
		t.Fatalf("exit %+v, want InitFailed code 3", got.Exit)
	}
	want := runtime.InitProgress{Done: 1, Total: 3, Name: "migrate", Message: "init step migrate exited with code 3"}
	if got.Init != want {
		t.Fatalf("init %+v, want %+v", got.Init, want)
	}
	if readFile(t, order) != "a\n" || h.initLog(s, "migrate", "stderr") != "oops\n" {
		t.Fatalf("order %q, step log %q", readFile(t, order), h.initLog(s, "migrate", "stderr"))
	}
}

// TestInit_Timeout: a step past its timeoutSeconds is killed (SIGKILL),
// and what it left in the group goes with the attempt.
func TestInit_Timeout(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	one := int64(1)
	step := shStep("slow", "sleep 60 & echo child pid=$!; sleep 60")
	step.TimeoutSeconds = &one
	s := withSteps(h.spec("/bin/sh", "-c", "echo main"), step)
	start := time.Now()
	h.start(s)
	got := h.waitExit(s.UID, 10*time.Second)
	if got.Exit.Reason != runtime.ExitReasonInitFailed || got.Exit.Signal != "SIGKILL" || got.Init.Message != "init step slow timed out (killed)" {
		t.Fatalf("exit %+v, init %+v", got.Exit, got.Init)
	}
	if d := time.Since(start); d < time.Second {
		t.Fatalf("killed after %v, before its timeout", d)
	}
	kids := childPIDs(h.initLog(s, "slow", "stdout"))
	if len(kids) != 1 {
		t.Fatalf("step log %q", h.initLog(s, "slow", "stdout"))
	}
	waitFor(t, 5*time.Second, "the step's child gone", func() bool { return !alive(kids[0]) })
}

// TestInit_RecordExit: with RecordExit the runner waits for the command
// (its child) and records its exit, as the waiting shim does.
func TestInit_RecordExit(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	s := recorded(withSteps(h.spec(workload, "--exit-after", "300ms", "--exit-code", "4"), shStep("one", "true")))
	st := h.start(s)
	commandOf(t, st.PID)
	got := h.waitExit(s.UID, 10*time.Second)
	if got.Exit.Code != 4 || got.Exit.Reason != "Error" || got.Init != (runtime.InitProgress{Done: 1, Total: 1}) {
		t.Fatalf("exit %+v, init %+v", got.Exit, got.Init)
	}
}

// TestInit_StopDuringStep: a stop reaches the running step (it is in
// the instance's group): the instance ends with the stop's reason and
// the command never runs.
func TestInit_StopDuringStep(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	s := withSteps(h.spec("/bin/sh", "-c", "echo main >> order"), shStep("long", "echo running; exec sleep 60"))
	h.start(s)
	waitFor(t, 5*time.Second, "step running", func() bool { return h.initLog(s, "long", "stdout") == "running\n" })
	if err := h.e.Stop(s.UID, runtime.StopSpec{Signal: unix.SIGTERM, Grace: 5 * time.Second, Reason: "Stopped"}); err != nil {
		t.Fatal(err)
	}
	got := h.waitExit(s.UID, 5*time.Second)
	if got.Exit.Reason != "Stopped" || readFile(t, filepath.Join(h.dir, "order")) != "" {
		t.Fatalf("exit %+v", got.Exit)
	}
}

// TestInit_AdoptedMidStep: a daemon gone while the first of two steps
// runs; the next adopts the runner, sees it at 0/2, and the steps and
// the command each run once.
func TestInit_AdoptedMidStep(t *testing.T) { // not parallel: its zombies (after Detach) are reaped at the end
	a := newHarness(t)
	order := filepath.Join(a.dir, "order")
	s := withSteps(a.spec("/bin/sh", "-c", "echo main >> order; exec sleep 60"),
		shStep("first", "echo a >> order; while [ ! -e go ]; do sleep 0.02; done"), shStep("second", "echo b >> order"))
	st := a.start(s)
	waitFor(t, 5*time.Second, "first step running", func() bool { return readFile(t, order) == "a\n" })
	a.detach()
	b := a.reopen(nil)
	got := byUID(b.Instances("web"))[s.UID]
	if got.PID != st.PID || got.Exit != nil || got.Init != (runtime.InitProgress{Total: 2, Name: "first"}) || got.Probe.Ready {
		t.Fatalf("adopted %+v", got)
	}
	if err := os.WriteFile(filepath.Join(a.dir, "go"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	got = a.waitInit(b, s.UID, runtime.InitProgress{Done: 2, Total: 2})
	waitFor(t, 5*time.Second, "the command", func() bool { return readFile(t, order) == "a\nb\nmain\n" })
	waitFor(t, 5*time.Second, "ready", func() bool { return byUID(b.Instances("web"))[s.UID].Probe.Ready })
	if got.PID != st.PID {
		t.Fatalf("pid %d, want %d", got.PID, st.PID)
	}
}

// TestInit_BadStep: a step that cannot be resolved fails the Start,
// naming the field; nothing is kept.
func TestInit_BadStep(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	s := withSteps(h.spec("/bin/true"), v1alpha1.InitCommand{Name: "x", Command: []string{"no-such-program-here"}})
	_, err := h.e.Start(t.Context(), s)
	if err == nil || !strings.Contains(err.Error(), "spec.initCommands[0]: exec no-such-program-here") {
		t.Fatalf("err %v", err)
	}
	if len(h.e.Instances("web")) != 0 {
		t.Fatal("a handle was kept")
	}
}

// TestInit_ProbesWaitForTheCommand: a readiness probe does not run while
// a step does (the instance is neither started nor ready; the step
// fails if the probe ran during its 1.2 s, a probe being due at once);
// it runs once the command does, which then becomes ready.
func TestInit_ProbesWaitForTheCommand(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	s := withSteps(h.spec("/bin/sh", "-c", "exec sleep 60"), shStep("wait", "echo running; sleep 1.2; if [ -e probed ]; then exit 9; fi"))
	s.Spec.ReadinessProbe = &v1alpha1.Probe{ProbeHandler: v1alpha1.ProbeHandler{
		Exec: &v1alpha1.ExecAction{Command: []string{"/bin/sh", "-c", "echo x >> probed"}}}, PeriodSeconds: 1}
	h.start(s)
	waitFor(t, 5*time.Second, "step running", func() bool { return h.initLog(s, "wait", "stdout") == "running\n" })
	if st, _ := h.find(s.UID); st.Probe.Ready || st.Probe.Started {
		t.Fatalf("during the step: probe %+v", st.Probe)
	}
	var st runtime.State
	waitFor(t, 10*time.Second, "ready or exited", func() bool { st, _ = h.find(s.UID); return st.Probe.Ready || st.Exit != nil })
	if st.Exit != nil || readFile(t, filepath.Join(h.dir, "probed")) == "" {
		t.Fatalf("exit %+v (the probe ran during the step), probed %q", st.Exit, readFile(t, filepath.Join(h.dir, "probed")))
	}
}

// TestInit_Sockets: the steps do not get the sockets (no LISTEN_*
// variables); the command, exec'd by the runner through the sockets
// shim, gets fd 3 with LISTEN_PID its own PID, the instance's, and
// serves.
func TestInit_Sockets(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	port := freeTCPPort(t)
	s := withSteps(h.spec(workload, "--print-env", "--socket", "http"), shStep("env", "env | grep -c ^LISTEN_ || true"))
	s.Spec.Sockets = []v1alpha1.SocketSpec{{Name: "http", Port: port, Host: "127.0.0.1"}}
	st := h.start(s)
	env := envOf(h.waitLog(s, "stdout", "PROCLET_UID=", 5*time.Second))
	if env["LISTEN_PID"] != strconv.Itoa(st.PID) || env["LISTEN_FDS"] != "1" {
		t.Fatalf("LISTEN_PID=%q LISTEN_FDS=%q; the instance is %d", env["LISTEN_PID"], env["LISTEN_FDS"], st.PID)
	}
	if got := h.initLog(s, "env", "stdout"); got != "0\n" {
		t.Fatalf("the step saw %q LISTEN_ variables, want 0", got)
	}
	waitFor(t, 10*time.Second, "the command answers on the socket", func() bool {
		_, err := get(port)
		return err == nil
	})
}

// TestInit_FailedWhileAway: a step that fails while no daemon runs ends
// the attempt anyway (what it left in the group is killed with it), and
// the next daemon reports the InitFailed exit with the step's code.
func TestInit_FailedWhileAway(t *testing.T) { // not parallel: its zombies (after Detach) are reaped at the end
	a := newHarness(t)
	s := withSteps(a.spec("/bin/sh", "-c", "echo main >> order"),
		shStep("migrate", "sleep 60 & echo child pid=$!; while [ ! -e go ]; do sleep 0.02; done; exit 3"))
	st := a.start(s)
	waitFor(t, 5*time.Second, "step running", func() bool { return len(childPIDs(a.initLog(s, "migrate", "stdout"))) == 1 })
	kid := childPIDs(a.initLog(s, "migrate", "stdout"))[0]
	a.detach()
	if err := os.WriteFile(filepath.Join(a.dir, "go"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	var ws unix.WaitStatus
	unix.Wait4(st.PID, &ws, 0, nil) // we are the runner's parent here
	waitFor(t, 5*time.Second, "the step's child gone", func() bool { return !alive(kid) })
	b := a.reopen(nil)
	got := byUID(b.Instances("web"))[s.UID]
	if got.Exit == nil || got.Exit.Reason != runtime.ExitReasonInitFailed || got.Exit.Code != 3 || got.Init.Message != "init step migrate exited with code 3" {
		t.Fatalf("exit %+v, init %+v; want InitFailed code 3", got.Exit, got.Init)
	}
	if readFile(t, filepath.Join(a.dir, "order")) != "" {
		t.Fatal("the command ran")
	}
}
