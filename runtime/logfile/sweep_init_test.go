package logfile

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"proclet.dev/proclet/runtime/internal/testutil"
)

// An init step's logs (InitPath) belong to their instance: kept while it
// lives, swept with its own files once it is gone past the retention.
func TestSweep_InitStepLogsGoWithTheirInstance(t *testing.T) {
	state := t.TempDir()
	now := time.Now()
	old := now.Add(-8 * 24 * time.Hour)
	for _, p := range []string{
		InitPath(state, "web", "web-0", "migrate", "stdout"), // live instance
		InitPath(state, "web", "web-3", "migrate", "stdout"), // gone
		InitPath(state, "web", "web-3", "migrate", "stderr") + ".1",
		Path(state, "web", "web-3", "stdout"),
	} {
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("x\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		os.Chtimes(p, old, old)
	}
	live := func(app, inst string) bool { return app == "web" && inst == "web-0" }
	if _, removed := Sweep(state, now.Add(-7*24*time.Hour), live, "", SweepBudget); removed != 3 {
		t.Errorf("%d removed, want 3", removed)
	}
	if got := strings.Join(testutil.Tree(t, filepath.Join(state, "logs")), " "); got != "web web/web-0.init.migrate.stdout.log" {
		t.Errorf("left %q", got)
	}
}
