package reconciler

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"proclet.dev/proclet/internal/hostile"
	"proclet.dev/proclet/runtime/runtimetest"
)

// TestReconciler_UnreadableStateIsMovedAside: a state file that is a
// sparse 4 GiB file, a link to /dev/zero, a FIFO, a folder or garbage
// neither hangs nor exhausts the daemon at its start: it is reported (a
// StateCorrupt event saying what is wrong and where it went), moved aside,
// and the next save writes a good one in its place.
func TestReconciler_UnreadableStateIsMovedAside(t *testing.T) {
	cases := append(hostile.Cases(), hostile.Case{Name: "garbage", Says: "is corrupt", Make: func(t testing.TB, p string) {
		if err := os.WriteFile(p, []byte("{not json"), 0o644); err != nil {
			t.Fatal(err)
		}
	}})
	for _, c := range cases {
		t.Run(c.Name, func(t *testing.T) {
			stateFile := filepath.Join(t.TempDir(), "reconciler.json")
			c.Make(t, stateFile)
			made := make(chan *Reconciler, 1)
			go func() { made <- New(Options{Runtime: runtimetest.New(), StateFile: stateFile}) }()
			var r *Reconciler
			select {
			case r = <-made:
			case <-time.After(20 * time.Second):
				t.Fatal("New still reading the state file after 20 s")
			}
			ev := r.Events("", 0)
			if len(ev) != 1 || ev[0].Reason != "StateCorrupt" || !strings.Contains(ev[0].Message, c.Says) ||
				!strings.Contains(ev[0].Message, "moved to "+stateFile+".bad-") {
				t.Fatalf("events %+v; want one StateCorrupt saying %q and where the file went", ev, c.Says)
			}
			if _, err := os.Lstat(stateFile); !errors.Is(err, fs.ErrNotExist) {
				t.Fatalf("the bad state file was not moved aside: %v", err)
			}
			r.saver.markDirty()
			r.saver.save()
			if _, err := loadState(stateFile); err != nil {
				t.Fatalf("the state file after a save: %v", err)
			}
		})
	}
}
