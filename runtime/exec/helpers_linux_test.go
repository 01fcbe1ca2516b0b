package exec

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"proclet.dev/proclet/apis/v1alpha1"

	"proclet.dev/proclet/runtime"
	"proclet.dev/proclet/runtime/internal/testutil"
	"proclet.dev/proclet/runtime/logfile"
	"proclet.dev/proclet/runtime/procfs"
	_ "proclet.dev/proclet/runtime/sockets/shim" // the exec shim of instances with sockets is this binary
)

// workload is the test workload program (hack/workload), built once.
var workload string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "proclet-runtime-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Chmod(dir, 0o755) // the user-switch test runs it as nobody
	workload = filepath.Join(dir, "workload")
	build := exec.Command("go", "build", "-o", workload, "proclet.dev/proclet/hack/workload")
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "building the workload: %v\n%s", err, out)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// harness is a Runtime under test with Run going, that kills every process
// it started by process group when the test ends.
type harness struct {
	t        *testing.T
	e        *Runtime
	state    string // the state dir
	dir      string // the manifest dir of every start
	seq      atomic.Int64
	mu       sync.Mutex
	pids     []startedPID
	detached bool
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	return newHarnessWith(t, Options{
		Env: []string{"PATH=/usr/local/bin:/usr/bin:/bin", "FROM_DAEMON=yes", "PROCLET_API_KEY=secret"},
	})
}

// newHarnessWith is a harness on a Runtime with the test's options (its
// own state dir and, unless given, a silent log; Env defaults to a PATH). Cleanup kills
// what is left of every group started, then stops every instance, or
// reaps them after a Detach.
func newHarnessWith(t *testing.T, opts Options) *harness {
	t.Helper()
	h := &harness{t: t, state: t.TempDir(), dir: t.TempDir()}
	opts.StateDir = h.state
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	if opts.Env == nil {
		opts.Env = []string{"PATH=/usr/local/bin:/usr/bin:/bin"}
	}
	e, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	h.e = e
	ctx, cancel := context.WithCancel(context.Background())
	runDone := make(chan error, 1)
	go func() { runDone <- e.Run(ctx) }()
	t.Cleanup(func() {
		h.mu.Lock()
		pids, detached := h.pids, h.detached
		h.mu.Unlock()
		killGroups(pids)
		if detached {
			for _, p := range pids {
				pid := p.pid
				var ws unix.WaitStatus
				unix.Wait4(pid, &ws, 0, nil) // ours to reap: Detach left them
			}
		} else {
			sctx, scancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer scancel()
			if err := e.StopAll(sctx, "TestCleanup"); err != nil {
				t.Errorf("cleanup: %v", err)
			}
		}
		cancel()
		<-runDone
	})
	return h
}

// spec returns a StartSpec for instance web-<n> running command.
func (h *harness) spec(command ...string) runtime.StartSpec {
	n := int(h.seq.Add(1)) - 1
	return runtime.StartSpec{
		UID:      fmt.Sprintf("uid-%d", n),
		App:      "web",
		Instance: fmt.Sprintf("web-%d", n),
		Ordinal:  n,
		Revision: "rev1",
		Spec:     &v1alpha1.AppSpec{Command: command},
		Dir:      h.dir,
	}
}

// startedPID is an instance's PID with its start time in clock ticks, so
// that cleanup never signals a recycled PID.
type startedPID struct {
	pid   int
	ticks uint64
}

// killGroups SIGKILLs the group of each started instance whose leader is
// still the process started (alive, or a zombie not yet reaped): a reaped
// leader's PID may already lead another test's instance.
func killGroups(pids []startedPID) {
	for _, p := range pids {
		if id, err := procfs.ReadIdent(p.pid); err == nil && id.Start == p.ticks {
			unix.Kill(-p.pid, unix.SIGKILL)
		}
	}
}

// start starts s and registers its group for cleanup; it fails the test on error.
func (h *harness) start(s runtime.StartSpec) runtime.State {
	h.t.Helper()
	st, err := h.tryStart(s)
	if err != nil {
		h.t.Fatalf("start: %v", err)
	}
	return st
}

// tryStart starts s and registers its group for cleanup.
func (h *harness) tryStart(s runtime.StartSpec) (runtime.State, error) {
	st, err := h.e.Start(h.t.Context(), s)
	if err != nil {
		return st, err
	}
	h.mu.Lock()
	h.pids = append(h.pids, startedPID{st.PID, procfs.StartTicks(st.PID)})
	h.mu.Unlock()
	return st, nil
}

// startReady starts the workload command of s with --announce and waits
// until it has set up its signal handling.
func (h *harness) startReady(s runtime.StartSpec) runtime.State {
	h.t.Helper()
	s.Spec.Command = append(s.Spec.Command, "--announce")
	st := h.start(s)
	h.waitLog(s, "stderr", "ready pid=", 5*time.Second)
	return st
}

// find returns the current state of uid.
func (h *harness) find(uid string) (runtime.State, bool) {
	for _, s := range h.e.Instances("web") {
		if s.UID == uid {
			return s, true
		}
	}
	return runtime.State{}, false
}

// waitExit polls until uid has exited and returns its state.
func (h *harness) waitExit(uid string, within time.Duration) runtime.State {
	h.t.Helper()
	var st runtime.State
	waitFor(h.t, within, "exit of "+uid, func() bool {
		var ok bool
		st, ok = h.find(uid)
		return ok && st.Exit != nil
	})
	return st
}

func (h *harness) logPath(s runtime.StartSpec, stream string) string {
	return logfile.Path(h.state, s.App, s.Instance, stream)
}

// waitLog polls until the stream's current log file contains want.
func (h *harness) waitLog(s runtime.StartSpec, stream, want string, within time.Duration) string {
	h.t.Helper()
	var data []byte
	waitFor(h.t, within, fmt.Sprintf("%q in %s log", want, stream), func() bool {
		data, _ = readLog(h.logPath(s, stream))
		return bytes.Contains(data, []byte(want))
	})
	return string(data)
}

// waitFor polls cond every few milliseconds until it holds or within has
// passed, then fails the test naming what.
func waitFor(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	testutil.WaitFor(t, within, what, cond)
}

// procStat is what the tests need of /proc/<pid>/stat.
type procStat struct {
	state byte
	ppid  int
	pgid  int
}

func readProcStat(pid int) (procStat, bool) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return procStat{}, false
	}
	i := bytes.LastIndexByte(data, ')')
	if i < 0 {
		return procStat{}, false
	}
	f := strings.Fields(string(data[i+1:]))
	if len(f) < 3 {
		return procStat{}, false
	}
	ppid, _ := strconv.Atoi(f[1])
	pgid, _ := strconv.Atoi(f[2])
	return procStat{state: f[0][0], ppid: ppid, pgid: pgid}, true
}

// alive reports whether pid exists and is not a zombie.
func alive(pid int) bool {
	st, ok := readProcStat(pid)
	return ok && st.state != 'Z'
}

// processes returns the pids whose stat matches keep.
func processes(keep func(procStat) bool) []int {
	entries, _ := os.ReadDir("/proc")
	var out []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if st, ok := readProcStat(pid); ok && keep(st) {
			out = append(out, pid)
		}
	}
	return out
}

// liveGroup returns the live members of process group pgid.
func liveGroup(pgid int) []int {
	return processes(func(s procStat) bool { return s.pgid == pgid && s.state != 'Z' })
}

// childPIDs parses the "child pid=N" lines the workload prints.
func childPIDs(log string) []int {
	var out []int
	for _, line := range strings.Split(log, "\n") {
		if v, ok := strings.CutPrefix(line, "child pid="); ok {
			if n, err := strconv.Atoi(v); err == nil {
				out = append(out, n)
			}
		}
	}
	return out
}

func isNotExist(err error) bool { return errors.Is(err, os.ErrNotExist) }

// readLog reads a log file as the instance printed it: CRI prefixes
// removed, cut lines joined, the daemon's start markers left out.
func readLog(path string) ([]byte, error) {
	data, err := os.ReadFile(path)
	return logfile.Plain(data), err
}
