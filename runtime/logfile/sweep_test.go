package logfile

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"proclet.dev/proclet/runtime/internal/testutil"
)

func TestSweep_DeletesOnlyGoneInstancesPastRetention(t *testing.T) {
	state := t.TempDir()
	now := time.Now()
	old, recent := now.Add(-8*24*time.Hour), now.Add(-time.Hour)
	put := func(app, name string, at time.Time) {
		p := filepath.Join(state, "logs", app, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("x\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(p, at, at); err != nil {
			t.Fatal(err)
		}
	}
	put("web", "web-0.stdout.log", old)   // live: kept however old
	put("web", "web-3.stdout.log", old)   // scaled down long ago
	put("web", "web-3.stdout.log.1", old) // its rotated file
	put("web", "web-3.stderr.log", old)
	put("web", "web-4.stdout.log.1", old) // written to lately on another stream: kept whole
	put("web", "web-4.stderr.log", recent)
	put("web", "notes.txt", old) // not a log file
	put("web", "web-5.stdout.log.x", old)
	put("gone", "gone-0.stdout.log", old) // a removed app: its folder goes too
	live := func(app, inst string) bool { return app == "web" && inst == "web-0" }
	next, removed := Sweep(state, now.Add(-7*24*time.Hour), live, "", SweepBudget)
	if next != "" || removed != 4 {
		t.Errorf("Sweep = %q, %d removed; want \"\", 4", next, removed)
	}
	got := strings.Join(testutil.Tree(t, filepath.Join(state, "logs")), " ")
	want := "web web/notes.txt web/web-0.stdout.log web/web-4.stderr.log web/web-4.stdout.log.1 web/web-5.stdout.log.x"
	if got != want {
		t.Errorf("left %q, want %q", got, want)
	}
}

// A sweep looks at a bounded number of files and goes on from there.
func TestSweep_Bounded(t *testing.T) {
	state := t.TempDir()
	old := time.Now().Add(-time.Hour)
	for _, app := range []string{"a", "b", "c"} {
		p := filepath.Join(state, "logs", app, app+"-0.stdout.log")
		os.MkdirAll(filepath.Dir(p), 0o700)
		os.WriteFile(p, nil, 0o600)
		os.Chtimes(p, old, old)
	}
	none := func(string, string) bool { return false }
	var total int
	after, rounds := "", 0
	for {
		next, removed := Sweep(state, time.Now(), none, after, 1)
		total += removed
		rounds++
		if next == "" || rounds > 10 {
			break
		}
		after = next
	}
	if total != 3 || rounds != 3 {
		t.Errorf("%d removed in %d sweeps of one file each, want 3 in 3", total, rounds)
	}
}
