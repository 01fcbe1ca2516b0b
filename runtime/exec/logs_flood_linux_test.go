package exec

import (
	"bytes"
	"syscall"
	"testing"
	"time"

	"proclet.dev/proclet/apis/v1alpha1"

	"proclet.dev/proclet/runtime"
	"proclet.dev/proclet/runtime/internal/testutil"
	"proclet.dev/proclet/runtime/logfile"
)

// An instance writing 50 MiB without a single newline, as fast as it can,
// with maxSize 1Mi and maxFiles 2: its log files are rotated all the same
// and never hold more than (maxFiles + 1) × (maxSize + a piece and its
// mark) together, checked all along while it writes. What they keep is the
// output's tail, cut into pieces of MaxLinePieceCap bytes.
//
// Not parallel: 50 MiB at full speed would slow the parallel tests that
// time the log path (TestLogs_FastWriterLosesNothing).
func TestLogs_EndlessLineStaysBounded(t *testing.T) {
	h := newHarness(t)
	s := h.spec(workload, "--flood", "50Mi")
	maxFiles := int32(2)
	s.Spec.Logs = v1alpha1.LogSpec{MaxSize: "1Mi", MaxFiles: &maxFiles}
	h.start(s)
	path := h.logPath(s, "stdout")
	const perFile = 1<<20 + logfile.MaxLinePieceCap + int64(criOverhead)
	bound := int64(maxFiles+1) * perFile
	deadline := time.Now().Add(2 * time.Minute)
	checks := 0
	for {
		if n := testutil.LogSetSize(t, path); n > bound {
			t.Fatalf("the log files hold %d bytes while it writes, above %d", n, bound)
		}
		checks++
		if errLog, _ := readLog(h.logPath(s, "stderr")); bytes.Contains(errLog, []byte("flood done")) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("timed out waiting for the flood to end")
		}
		time.Sleep(5 * time.Millisecond) // a pace for the checks, not a wait for something
	}
	if err := h.e.Stop(s.UID, runtime.StopSpec{Signal: syscall.SIGTERM, Grace: 5 * time.Second}); err != nil {
		t.Fatal(err)
	}
	h.waitExit(s.UID, 10*time.Second)
	names, contents := testutil.ReadRotated(t, path)
	t.Logf("%d checks while writing; files %v", checks, names)
	if len(names) != int(maxFiles)+1 {
		t.Errorf("files %v, want %d", names, maxFiles+1)
	}
	var total int64
	for i, c := range contents {
		total += int64(len(c))
		if int64(len(c)) > perFile {
			t.Errorf("%s holds %d bytes, above %d", names[i], len(c), perFile)
		}
		if len(c) == 0 || c[len(c)-1] != '\n' {
			t.Errorf("%s does not end with a newline", names[i])
		}
	}
	if total > bound {
		t.Errorf("the log files hold %d bytes, above %d", total, bound)
	}
	tail := bytes.TrimSuffix(logfile.Plain(bytes.Join(contents, nil)), []byte("\n"))
	if len(tail) < 2<<20 || bytes.IndexByte(tail, '\n') >= 0 {
		t.Errorf("the files hold %d bytes of output, with newlines where it had none", len(tail))
	}
}
