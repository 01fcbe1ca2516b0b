//go:build linux

package exec

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"proclet.dev/proclet/apis/v1alpha1"

	"proclet.dev/proclet/runtime"
	"proclet.dev/proclet/runtime/internal/testutil"
	"proclet.dev/proclet/runtime/logfile"
)

// A workload writing about 100 MB/s of numbered 512-byte lines: every line
// reaches the logs once, in order, across rotations.
func TestLogs_FastWriterLosesNothing(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	const (
		rate     = 200000 // lines a second: 100 MB/s
		lineSize = 512
		lines    = 300000 // 150 MB, 1.5 s at that rate
	)
	s := h.spec(workload, "--stdout-rate", strconv.Itoa(rate), "--lines", strconv.Itoa(lines), "--line-size", strconv.Itoa(lineSize))
	maxFiles := int32(100)
	s.Spec.Logs = v1alpha1.LogSpec{MaxSize: "8Mi", MaxFiles: &maxFiles}
	began := time.Now()
	h.start(s)
	last := fmt.Sprintf("%s stdout %d ", s.Instance, lines)
	h.waitLog(s, "stdout", last, 60*time.Second)
	took := time.Since(began)
	mbps := float64(lines*lineSize) / took.Seconds() / 1e6
	nominal := time.Duration(float64(lines) / rate * float64(time.Second))
	t.Logf("%d lines of %d bytes logged in %s (the writer's own pace: %s): %.0f MB/s", lines, lineSize,
		took.Round(time.Millisecond), nominal, mbps)

	if err := h.e.Stop(s.UID, runtime.StopSpec{Signal: syscall.SIGTERM, Grace: 5 * time.Second}); err != nil {
		t.Fatal(err)
	}
	h.waitExit(s.UID, 5*time.Second)
	names, contents := testutil.ReadRotated(t, h.logPath(s, "stdout"))
	if len(names) < 15 {
		t.Errorf("%d files, want about 18 (150 MB rotated at 8 MiB)", len(names))
	}
	for i, c := range contents {
		if len(c) > 8<<20 {
			t.Errorf("%s holds %d bytes, above maxSize", names[i], len(c))
		}
	}
	checkSequence(t, logfile.Plain(bytes.Join(contents, nil)), s.Instance+" stdout", 1, lines)
	// The log path's speed is measured by the benchmarks, not asserted
	// here: a loaded machine (CI, -race) made a floor in MB/s flaky.
}

// Rotation keeps maxFiles under a fast writer too: never more files, the
// newest lines kept in order.
func TestLogs_FastWriterKeepsMaxFiles(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	const lines = 100000
	s := h.spec(workload, "--stdout-rate", "200000", "--lines", strconv.Itoa(lines), "--line-size", "512")
	maxFiles := int32(3)
	s.Spec.Logs = v1alpha1.LogSpec{MaxSize: "1Mi", MaxFiles: &maxFiles}
	h.start(s)
	path := h.logPath(s, "stdout")
	deadline := time.Now().Add(30 * time.Second)
	for done := false; !done; {
		// While it writes, never more than the live file and maxFiles.
		matches, _ := filepath.Glob(path + "*")
		if len(matches) > int(maxFiles)+1 {
			t.Fatalf("%d log files while writing: %v", len(matches), matches)
		}
		data, _ := readLog(path)
		done = bytes.Contains(data, fmt.Appendf(nil, "%s stdout %d ", s.Instance, lines))
		if !done && time.Now().After(deadline) {
			t.Fatal("timed out waiting for the last line")
		}
	}
	names, contents := testutil.ReadRotated(t, path)
	base := filepath.Base(path)
	if want := []string{base + ".3", base + ".2", base + ".1", base}; fmt.Sprint(names) != fmt.Sprint(want) {
		t.Errorf("files = %v, want %v", names, want)
	}
	all := logfile.Plain(bytes.Join(contents, nil))
	first := lines - bytes.Count(all, []byte("\n")) + 1
	checkSequence(t, all, s.Instance+" stdout", first, lines)
}

// A full disk for the logs (the log file is /dev/full: every write fails
// with ENOSPC): the instance keeps running and writing, its output is
// dropped, State.LogError says why, and once the disk has room the log
// goes on with the lines written from then on.
func TestLogs_FullDiskReportedInstanceRuns(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	s := h.spec(workload, "--stdout-rate", "10000", "--line-size", "512") // 5 MB/s
	path := h.logPath(s, "stdout")
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("/dev/full", path); err != nil {
		t.Fatal(err)
	}
	st := h.start(s)
	var cur runtime.State
	waitFor(t, 5*time.Second, "the log error in the state", func() bool {
		cur, _ = h.find(s.UID)
		return cur.LogError != ""
	})
	if !bytes.Contains([]byte(cur.LogError), []byte("no space left on device")) {
		t.Errorf("LogError = %q, want ENOSPC", cur.LogError)
	}
	// Twice what the pipe holds written: had the reader stopped draining,
	// the writer would be blocked before that.
	waitFor(t, 20*time.Second, "8 MiB written to a full disk", func() bool { return ioWritten(st.PID) > 2*rootPipeSize })
	if !alive(st.PID) {
		t.Fatal("the instance died of its full disk")
	}
	if cur, _ = h.find(s.UID); cur.Exit != nil || cur.LogError == "" {
		t.Fatalf("state %+v, want running and still failing", cur)
	}

	// Room again: the lines written from then on are logged (those written
	// meanwhile were dropped, not held back), and the error clears.
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	data := h.waitLog(s, "stdout", "\n", 5*time.Second)
	var seq int
	if _, err := fmt.Sscanf(data, s.Instance+" stdout %d", &seq); err != nil {
		t.Fatalf("first line after the disk came back: %.60q: %v", data, err)
	}
	// Before the removal it had written 8 MiB; at most a pipe and a round
	// of that were still unread (and are logged now).
	if floor := (rootPipeSize - roundSize) / 512; seq <= floor {
		t.Errorf("first line logged after the full disk is #%d, want past #%d: output was held back, not dropped", seq, floor)
	}
	waitFor(t, 5*time.Second, "the log error to clear", func() bool {
		cur, _ = h.find(s.UID)
		return cur.LogError == ""
	})
}

// ioWritten is how many bytes process pid has written (/proc/<pid>/io
// wchar, all its threads), 0 when unknown.
func ioWritten(pid int) int64 {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/io", pid))
	if err != nil {
		return 0
	}
	for _, line := range bytes.Split(data, []byte("\n")) {
		if v, ok := bytes.CutPrefix(line, []byte("wchar: ")); ok {
			n, _ := strconv.ParseInt(string(v), 10, 64)
			return n
		}
	}
	return 0
}

// The reader writes many lines per Write; rotation still happens between
// lines only (a cut is one), every file stays within maxSize and a piece,
// a line longer than a piece is cut, and nothing is lost or reordered.
func TestLogFile_ManyLinesPerWrite(t *testing.T) {
	const maxSize = 1000
	var input []byte
	for i := range 1000 {
		size := 20 + (i*37)%200
		if i%500 == 7 {
			size = 2500 // longer than maxSize
		}
		line := fmt.Appendf(nil, "%d ", i)
		input = append(input, line...)
		input = append(input, bytes.Repeat([]byte("x"), max(size-len(line)-1, 0))...)
		input = append(input, '\n')
	}
	path := filepath.Join(t.TempDir(), "x.log")
	l := logfile.NewFile(path, maxSize, 200, slog.New(slog.DiscardHandler))
	// Writes as the reader makes them: reads of any size, each written up
	// to its last newline (lines are shorter than its buffer here).
	for p, i := input, 0; len(p) > 0; i++ {
		n := min(len(p), 1+(i*7919)%4096)
		if j := bytes.LastIndexByte(p[:n], '\n'); j >= 0 {
			n = j + 1
		} else {
			n = bytes.IndexByte(p, '\n') + 1
		}
		l.Write(p[:n])
		p = p[n:]
	}
	l.Close()
	names, contents := testutil.ReadRotated(t, path)
	if len(names) < 100 {
		t.Fatalf("%d files, want over a hundred", len(names))
	}
	for i, c := range contents {
		if len(c) == 0 || c[len(c)-1] != '\n' {
			t.Errorf("%s does not end at a line boundary", names[i])
		}
		// A line begun below maxSize stays, up to a piece (maxSize here).
		if limit := 2*maxSize + criOverhead; len(c) > limit {
			t.Errorf("%s holds %d bytes, above maxSize and a piece (%d)", names[i], len(c), limit)
		}
		for _, line := range bytes.SplitAfter(c, []byte("\n")) {
			if len(line) > maxSize+criOverhead {
				t.Errorf("%s holds a line of %d bytes, longer than a piece (%d) and the mark", names[i], len(line), maxSize)
			}
		}
	}
	if got := logfile.Plain(bytes.Join(contents, nil)); !bytes.Equal(got, input) {
		t.Errorf("the files hold %d bytes, not the %d written, in order", len(got), len(input))
	}
}

// BenchmarkLogPath measures the log path alone: cat of a file of 512-byte
// lines into an instance's log, rotated at 8 MiB.
func BenchmarkLogPath(b *testing.B) {
	src := filepath.Join(b.TempDir(), "src")
	var buf bytes.Buffer
	pad := bytes.Repeat([]byte("x"), 480)
	for i := 1; i <= 200000; i++ {
		fmt.Fprintf(&buf, "web stdout %d %s\n", i, pad)
	}
	if err := os.WriteFile(src, buf.Bytes(), 0o644); err != nil {
		b.Fatal(err)
	}
	e, err := New(Options{StateDir: b.TempDir(), SampleInterval: -1})
	if err != nil {
		b.Fatal(err)
	}
	defer e.StopAll(context.Background(), "BenchmarkDone")
	maxFiles := int32(100)
	b.SetBytes(int64(buf.Len()))
	for i := 0; b.Loop(); i++ {
		s := runtime.StartSpec{UID: fmt.Sprintf("uid-%d", i), App: "web", Instance: "web-0", Revision: "r", Dir: "/",
			Spec: &v1alpha1.AppSpec{Command: []string{"/bin/cat", src}, Logs: v1alpha1.LogSpec{MaxSize: "8Mi", MaxFiles: &maxFiles}}}
		if _, err := e.Start(context.Background(), s); err != nil {
			b.Fatal(err)
		}
		tick := time.NewTicker(time.Millisecond)
		for st := e.Instances("web"); len(st) != 1 || st[0].Exit == nil; st = e.Instances("web") {
			<-tick.C
		}
		tick.Stop()
		e.Release(s.UID)
	}
}

// criOverhead is what a line of a log file adds to the text it holds:
// its CRI prefix (for stdout or stderr) and newline.
const criOverhead = len(logfile.TimeLayout) + len(" stdout P ") + 1
