package exec

import (
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"proclet.dev/proclet/runtime"
	"proclet.dev/proclet/runtime/internal/testutil"
	"proclet.dev/proclet/runtime/logfile"
)

// An instance that prints a line and then nothing leaves the daemon with
// no descriptor on its log files once they are idle (Run's loop closes
// them); its next line reopens the file and goes after the first.
func TestLogs_IdleFilesClosedAndReopened(t *testing.T) {
	t.Parallel()
	h := newHarnessWith(t, Options{LogIdleClose: 50 * time.Millisecond})
	logs, err := filepath.EvalSymlinks(filepath.Join(h.state, "logs"))
	if err != nil {
		t.Fatal(err)
	}
	s := h.spec("/bin/sh", "-c", `trap 'echo second' USR1; echo first; while :; do sleep 0.05; done`)
	st := h.start(s)
	h.waitLog(s, "stdout", "first", 5*time.Second)
	waitFor(t, 10*time.Second, "the log files closed", func() bool { return testutil.OpenUnder(t, logs) == 0 })
	if err := unix.Kill(st.PID, unix.SIGUSR1); err != nil {
		t.Fatal(err)
	}
	data := h.waitLog(s, "stdout", "second", 5*time.Second)
	if got := logfile.Plain([]byte(data)); string(got) != "first\nsecond\n" {
		t.Errorf("stdout log = %q, want first then second", got)
	}
	// stderr, which only got the start's mark, was closed right after it.
	if stats := h.e.OpenLogs().Stats(); stats.IdleCloses < 1 || stats.Reopens < 1 {
		t.Errorf("stats %+v, want stdout closed as idle and reopened", stats)
	}
	waitFor(t, 10*time.Second, "the log files closed again", func() bool { return testutil.OpenUnder(t, logs) == 0 })
}

// The open log files' bound is what the descriptor limit leaves once the
// API's share and the instances are counted: with nothing left, one file
// at a time is open, and every line still reaches its file.
func TestLogs_BoundYieldsToInstances(t *testing.T) {
	t.Parallel()
	h := newHarnessWith(t, Options{ReservedFDs: 1 << 30}) // no room for the caches
	logs := filepath.Join(h.state, "logs")
	var specs []runtime.StartSpec
	for range 3 {
		s := h.spec("/bin/sh", "-c", "echo hello-$PROCLET_INSTANCE; exec sleep 60")
		h.start(s)
		specs = append(specs, s)
	}
	for _, s := range specs {
		h.waitLog(s, "stdout", "hello-"+s.Instance, 10*time.Second)
	}
	if st := h.e.OpenLogs().Stats(); st.Max != 1 || st.Evictions == 0 {
		t.Errorf("open log files with no room left: %+v, want a bound of 1 and evictions", st)
	}
	if real, err := filepath.EvalSymlinks(logs); err == nil {
		if n := testutil.OpenUnder(t, real); n > 1 {
			t.Errorf("%d log files open, over the bound of 1", n)
		}
	}
}
