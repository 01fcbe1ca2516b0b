package exec

import (
	"bytes"
	"fmt"
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
	"proclet.dev/proclet/runtime/internal/testutil"
	"proclet.dev/proclet/runtime/logfile"
	"proclet.dev/proclet/runtime/procfs"
)

// checkSequence checks that data holds the lines "<prefix> <n>[ pad]" for
// n = first..last, each exactly once and in order.
func checkSequence(t *testing.T, data []byte, prefix string, first, last int) {
	t.Helper()
	data = logfile.Plain(data) // the lines as printed
	lines := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
	if got, want := len(lines), last-first+1; got != want {
		t.Errorf("%d lines, want %d", got, want)
	}
	for i, line := range lines {
		want := prefix + " " + strconv.Itoa(first+i)
		if line != want && !strings.HasPrefix(line, want+" ") {
			t.Fatalf("line %d = %.60q, want %q", i, line, want)
		}
	}
}

func TestExec_RotationKeepsEveryLineOnce(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	const lines = 20000
	s := h.spec(workload, "--stdout-rate", "40000", "--lines", strconv.Itoa(lines), "--line-size", "100")
	maxFiles := int32(100)
	s.Spec.Logs = v1alpha1.LogSpec{MaxSize: "64Ki", MaxFiles: &maxFiles}
	h.start(s)
	last := fmt.Sprintf("%s stdout %d ", s.Instance, lines)
	h.waitLog(s, "stdout", last, 20*time.Second)
	if err := h.e.Stop(s.UID, runtime.StopSpec{Signal: syscall.SIGTERM, Grace: 5 * time.Second}); err != nil {
		t.Fatal(err)
	}
	h.waitExit(s.UID, 5*time.Second)

	names, contents := testutil.ReadRotated(t, h.logPath(s, "stdout"))
	if len(names) < 20 || len(names) > int(maxFiles)+1 {
		t.Errorf("%d files (%v), want about 31 and at most %d", len(names), names, maxFiles+1)
	}
	for i, c := range contents {
		if len(c) > 64<<10 {
			t.Errorf("%s holds %d bytes, above maxSize", names[i], len(c))
		}
		if len(c) > 0 && c[len(c)-1] != '\n' {
			t.Errorf("%s ends within a line", names[i])
		}
	}
	checkSequence(t, bytes.Join(contents, nil), s.Instance+" stdout", 1, lines)
}

func TestExec_RotationDeletesTheOldest(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	const lines = 5000
	s := h.spec(workload, "--stderr-rate", "40000", "--lines", strconv.Itoa(lines), "--line-size", "50")
	maxFiles := int32(2)
	s.Spec.Logs = v1alpha1.LogSpec{MaxSize: "16Ki", MaxFiles: &maxFiles}
	h.start(s)
	h.waitLog(s, "stderr", fmt.Sprintf("%s stderr %d ", s.Instance, lines), 20*time.Second)

	path := h.logPath(s, "stderr")
	names, contents := testutil.ReadRotated(t, path)
	base := filepath.Base(path)
	if want := []string{base + ".2", base + ".1", base}; fmt.Sprint(names) != fmt.Sprint(want) {
		t.Errorf("files = %v, want %v", names, want)
	}
	all := logfile.Plain(bytes.Join(contents, nil))
	first := lines - bytes.Count(all, []byte("\n")) + 1
	if first <= 1 {
		t.Fatalf("nothing was deleted: first line %d", first)
	}
	checkSequence(t, all, s.Instance+" stderr", first, lines)
}

func TestExec_DetachLeavesInstanceWritingToItsFIFO(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	s := h.spec(workload, "--stdout-rate", "500")
	st := h.start(s)
	h.waitLog(s, "stdout", s.Instance+" stdout 20\n", 5*time.Second)
	h.mu.Lock()
	h.detached = true
	h.mu.Unlock()
	h.e.Detach()

	// The daemon side is gone: the instance writes on, into its FIFO.
	written := wchar(t, st.PID)
	waitFor(t, 5*time.Second, "the instance to write more", func() bool { return wchar(t, st.PID) > written+2000 })
	if !alive(st.PID) {
		t.Fatal("the instance died when the daemon stopped reading (SIGPIPE?)")
	}
	if _, err := h.e.Start(t.Context(), h.spec("/bin/true")); err == nil {
		t.Error("start after Detach succeeded")
	}

	// A new reader (the next daemon) gets everything not yet logged.
	logged, err := readLog(h.logPath(s, "stdout"))
	if err != nil {
		t.Fatal(err)
	}
	f, err := openFIFOReader(fifoPath(filepath.Join(h.state, "run"), s.UID, "stdout"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var fresh []byte
	buf := make([]byte, 64<<10)
	for bytes.Count(fresh, []byte("\n")) < 50 {
		f.SetReadDeadline(time.Now().Add(5 * time.Second))
		n, err := f.Read(buf)
		if err != nil {
			t.Fatalf("reading the FIFO again: %v", err)
		}
		fresh = append(fresh, buf[:n]...)
	}
	all := append(logged, fresh...)
	all = all[:bytes.LastIndexByte(all, '\n')+1]
	checkSequence(t, all, s.Instance+" stdout", 1, bytes.Count(all, []byte("\n")))
	if !alive(st.PID) {
		t.Error("the instance died")
	}
}

// wchar is how many bytes pid has written, from /proc/<pid>/io.
func wchar(t *testing.T, pid int) int {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/io")
	if err != nil {
		t.Fatalf("read /proc/%d/io: %v", pid, err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "wchar: "); ok {
			n, _ := strconv.Atoi(v)
			return n
		}
	}
	t.Fatalf("no wchar in /proc/%d/io", pid)
	return 0
}

func TestExec_OutputOfAChildOutlivingTheLeaderIsNotWaitedForever(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	s := h.spec(workload, "--setsid-child", "--exit-after", "300ms")
	st := h.start(s)
	log := h.waitLog(s, "stdout", "child pid=", 5*time.Second)
	escaped := childPIDs(log)
	h.mu.Lock()
	for _, pid := range escaped { // its own group: clean it up by pid
		h.pids = append(h.pids, startedPID{pid, procfs.StartTicks(pid)})
	}
	h.mu.Unlock()
	got := h.waitExit(s.UID, 5*time.Second)
	if took := got.Exit.At.Sub(st.StartedAt); took > 3*time.Second {
		t.Errorf("exit recorded after %v", took)
	}
	// The documented leak: a setsid escapee survives the group kill.
	for _, pid := range escaped {
		if !alive(pid) {
			t.Errorf("escaped child %d is gone; update doc.go if the runtime can now reach it", pid)
		}
		unix.Kill(pid, unix.SIGKILL)
	}
}
