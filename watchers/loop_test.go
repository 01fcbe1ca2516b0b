package watchers

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"testing/synctest"
	"time"

	"github.com/fsnotify/fsnotify"
	"proclet.dev/proclet/apis/v1alpha1"
)

// loopHarness runs a Dir with injected events inside a synctest bubble: time
// is fake, and only moves when every goroutine of the bubble is blocked.
type loopHarness struct {
	t    *testing.T
	root string
	fw   *fakeWatchers
	sink *recSink
}

const testWindow = 50 * time.Millisecond

func startLoop(t *testing.T, files map[string]string) *loopHarness {
	h := &loopHarness{t: t, root: t.TempDir(), fw: &fakeWatchers{}, sink: newRecSink()}
	for name, data := range files {
		writeFile(t, filepath.Join(h.root, name), data)
	}
	d := New(Options{Root: h.root, Resync: time.Hour, Debounce: testWindow}, h.sink)
	d.newWatcher = h.fw.new
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	// The first scan, then the one that follows watching new folders.
	h.advance(time.Second)
	if n, _ := h.sink.counts(); n != 2 {
		t.Fatalf("%d snapshots at start, want 2 (the first scan and the follow-up)", n)
	}
	return h
}

// advance lets fake time pass (a timer in the bubble, not a real wait) and
// waits until the loop is idle.
func (h *loopHarness) advance(d time.Duration) {
	timer := time.NewTimer(d)
	<-timer.C
	synctest.Wait()
}

// event delivers one fsnotify event and waits until the loop is idle.
func (h *loopHarness) event(name string, op fsnotify.Op) {
	h.fw.current.Load().events <- fsnotify.Event{Name: filepath.Join(h.root, name), Op: op}
	synctest.Wait()
}

func (h *loopHarness) snaps() []v1alpha1.Snapshot { return h.sink.all() }

func TestLoop_FirstEventAtOnceThenOneScanPerWindow(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := startLoop(t, nil)
		t0 := time.Now()
		writeFile(t, filepath.Join(h.root, "a.yaml"), manifest("a", "x"))
		h.event("a.yaml", fsnotify.Create)
		s := h.snaps()
		if len(s) != 3 || !s[2].ReadAt.Equal(t0) || !slices.Equal(appNames(s[2]), []string{"a"}) {
			t.Fatalf("after a single event: %d snapshots, last %s at %v; want one more, at once", len(s), describe(s[len(s)-1]), s[len(s)-1].ReadAt.Sub(t0))
		}
		for _, name := range []string{"b", "c", "d"} {
			h.advance(10 * time.Millisecond)
			writeFile(t, filepath.Join(h.root, name+".yaml"), manifest(name, "x"))
			h.event(name+".yaml", fsnotify.Create)
			h.event(name+".yaml", fsnotify.Write)
		}
		if n := len(h.snaps()); n != 3 {
			t.Fatalf("%d snapshots during the window, want none more", n-3)
		}
		h.advance(time.Second)
		s = h.snaps()
		if len(s) != 4 || !s[3].ReadAt.Equal(t0.Add(testWindow)) || !slices.Equal(appNames(s[3]), []string{"a", "b", "c", "d"}) {
			t.Fatalf("after the window: %d snapshots, last %s at %v; want one, at the window's end", len(s), describe(s[len(s)-1]), s[len(s)-1].ReadAt.Sub(t0))
		}
	})
}

// TRAP 3: vim renames the file away, then writes a new one. The scan that
// sees no web.yaml must not be emitted.
func TestLoop_HoldsRemovalsUntilQuiet(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := startLoop(t, map[string]string{"web.yaml": manifest("web", "v1"), "db.yaml": manifest("db", "v1")})
		web := filepath.Join(h.root, "web.yaml")
		h.advance(time.Second)

		rename(t, web, web+"~")
		h.event("web.yaml", fsnotify.Rename)
		h.event("web.yaml~", fsnotify.Create) // a leftover: ignored
		if n := len(h.snaps()); n != 2 {
			t.Fatalf("a snapshot without web was emitted mid-save: %s", describe(h.snaps()[n-1]))
		}
		writeFile(t, web, manifest("web", "v2"))
		h.event("web.yaml", fsnotify.Create)
		if err := os.Remove(web + "~"); err != nil {
			t.Fatal(err)
		}
		h.event("web.yaml~", fsnotify.Remove)
		h.advance(time.Second)
		s := h.snaps()
		if len(s) != 3 || appCmd(s[2], "web") != "v2" {
			t.Fatalf("after the save: %d snapshots, last %s; want exactly one more, with v2", len(s), describe(s[len(s)-1]))
		}

		// A real deletion applies once nothing happened for the short
		// hold; an event meanwhile doubles it.
		if err := os.Remove(web); err != nil {
			t.Fatal(err)
		}
		t0 := time.Now()
		h.event("web.yaml", fsnotify.Remove)
		if n := len(h.snaps()); n != 3 {
			t.Fatal("a deletion applied before the directory was quiet")
		}
		h.advance(time.Millisecond)
		h.event("db.yaml", fsnotify.Chmod) // not quiet yet: hold twice as long from here
		h.advance(time.Second)
		s = h.snaps()
		if want := t0.Add(time.Millisecond + 2*DefaultRemovalQuiet); len(s) != 4 || !slices.Equal(appNames(s[3]), []string{"db"}) || !s[3].ReadAt.Equal(want) {
			t.Fatalf("after the deletion: %d snapshots, last %s at %v, want at %v", len(s), describe(s[len(s)-1]), s[len(s)-1].ReadAt.Sub(t0), want.Sub(t0))
		}
	})
}

// Removing a file stops its apps fast: the scan its event caused is
// confirmed by one the short hold later, not a debounce window later.
func TestLoop_AnnouncedRemovalAppliesAfterTheShortHold(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := startLoop(t, map[string]string{"web.yaml": manifest("web", "v1"), "db.yaml": manifest("db", "v1")})
		h.advance(time.Second)
		if err := os.Remove(filepath.Join(h.root, "web.yaml")); err != nil {
			t.Fatal(err)
		}
		t0 := time.Now()
		h.event("web.yaml", fsnotify.Remove)
		h.advance(DefaultRemovalQuiet - 1)
		if n := len(h.snaps()); n != 2 {
			t.Fatalf("a removal was emitted before the short hold: %s", describe(h.snaps()[n-1]))
		}
		h.advance(time.Second)
		s := h.snaps()
		if len(s) != 3 || !slices.Equal(appNames(s[2]), []string{"db"}) || !s[2].ReadAt.Equal(t0.Add(DefaultRemovalQuiet)) {
			t.Fatalf("after the removal: %d snapshots, last %s at %v", len(s), describe(s[len(s)-1]), s[len(s)-1].ReadAt.Sub(t0))
		}
	})
}

// The temporary file of an atomic save (written aside, renamed over) is
// no sign of a save that looks like a removal: a removal right after one
// applies after the short hold.
func TestLoop_RemovalRightAfterAnAtomicSaveIsFast(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := startLoop(t, map[string]string{"web.yaml": manifest("web", "v1"), "db.yaml": manifest("db", "v1")})
		h.advance(time.Second)
		h.event(".db.yaml.tmp", fsnotify.Create)
		h.event(".db.yaml.tmp", fsnotify.Rename)
		h.advance(time.Millisecond)
		if err := os.Remove(filepath.Join(h.root, "web.yaml")); err != nil {
			t.Fatal(err)
		}
		t0 := time.Now()
		h.event("web.yaml", fsnotify.Remove)
		h.advance(time.Second)
		s := h.snaps()
		if last := s[len(s)-1]; !slices.Equal(appNames(last), []string{"db"}) || !last.ReadAt.Equal(t0.Add(DefaultRemovalQuiet)) {
			t.Fatalf("after the removal: %s at %v, want db alone at %v", describe(last), last.ReadAt.Sub(t0), DefaultRemovalQuiet)
		}
	})
}

// git checkout replaces a file by unlinking it and creating it again;
// the create may come a little after the scan the unlink caused. No
// snapshot without the app: the hold outlasts the gap.
func TestLoop_UnlinkThenCreateKeepsTheApp(t *testing.T) {
	for _, gap := range []time.Duration{0, DefaultRemovalQuiet / 2, DefaultRemovalQuiet - 1} {
		t.Run(gap.String(), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				h := startLoop(t, map[string]string{"web.yaml": manifest("web", "v1")})
				web := filepath.Join(h.root, "web.yaml")
				if err := os.Remove(web); err != nil {
					t.Fatal(err)
				}
				h.event("web.yaml", fsnotify.Remove)
				if gap > 0 {
					h.advance(gap)
				}
				writeFile(t, web, manifest("web", "v2"))
				h.event("web.yaml", fsnotify.Create)
				h.event("web.yaml", fsnotify.Write)
				h.advance(time.Second)
				assertNeverWithout(t, h.snaps(), "web", "v2")
			})
		})
	}
}

// An editor's save that renames the file away (vim's backup) holds a
// removal for the whole window, however long writing the new file takes
// within it; an atomic save renamed over the file is never a removal.
func TestLoop_EditorSavesKeepTheApp(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := startLoop(t, map[string]string{"web.yaml": manifest("web", "v1")})
		web := filepath.Join(h.root, "web.yaml")
		rename(t, web, web+"~")
		h.event("web.yaml", fsnotify.Rename)
		h.event("web.yaml~", fsnotify.Create)
		h.advance(testWindow - time.Millisecond) // a slow write of the new file
		writeFile(t, web, manifest("web", "v2"))
		h.event("web.yaml", fsnotify.Create)
		h.advance(time.Second)
		assertNeverWithout(t, h.snaps(), "web", "v2")

		writeAtomic(t, web, manifest("web", "v3"))
		h.event(".tmp-web.yaml", fsnotify.Create)
		h.event(".tmp-web.yaml", fsnotify.Rename)
		h.event("web.yaml", fsnotify.Create)
		h.advance(time.Second)
		assertNeverWithout(t, h.snaps(), "web", "v3")
	})
}

// assertNeverWithout fails if a snapshot lacks app, or the last one does
// not run cmd.
func assertNeverWithout(t *testing.T, snaps []v1alpha1.Snapshot, app, cmd string) {
	t.Helper()
	for _, snap := range snaps {
		if !slices.Contains(appNames(snap), app) {
			t.Fatalf("a snapshot without %s was emitted: %s", app, describe(snap))
		}
	}
	if last := snaps[len(snaps)-1]; appCmd(last, app) != cmd {
		t.Fatalf("last snapshot %s, want %s %s", describe(last), app, cmd)
	}
}

// A resync (or Rescan) that finds an app gone confirms it with another
// scan a window later: it may have read in the middle of a change whose
// events have not come yet.
func TestLoop_ForcedScanConfirmsARemovalAWindowLater(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		resync := time.Now().Add(time.Hour) // the loop's resync ticker starts now
		h := startLoop(t, map[string]string{"web.yaml": manifest("web", "v1")})
		if err := os.Remove(filepath.Join(h.root, "web.yaml")); err != nil {
			t.Fatal(err)
		}
		h.advance(time.Until(resync) + testWindow - 1) // the resync sees web gone
		if n := len(h.snaps()); n != 2 {
			t.Fatalf("the resync emitted a removal at once: %s", describe(h.snaps()[n-1]))
		}
		h.advance(time.Second)
		s := h.snaps()
		if len(s) != 3 || len(s[2].Apps) != 0 || !s[2].ReadAt.Equal(resync.Add(testWindow)) {
			t.Fatalf("after the resync: %d snapshots, last %s at resync%+v", len(s), describe(s[len(s)-1]), s[len(s)-1].ReadAt.Sub(resync))
		}
	})
}

// The race that confirmation closes: a scan reads while a file is being
// replaced, before the replacement's event arrives. The app is not
// stopped; the event's scan applies the new version.
func TestLoop_RemovalRacingAnUndeliveredEventIsNotEmitted(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		resync := time.Now().Add(time.Hour)
		h := startLoop(t, map[string]string{"web.yaml": manifest("web", "v1")})
		web := filepath.Join(h.root, "web.yaml")
		if err := os.Remove(web); err != nil {
			t.Fatal(err)
		}
		h.advance(time.Until(resync) + testWindow/2) // a resync lands mid-replacement
		writeFile(t, web, manifest("web", "v2"))
		h.event("web.yaml", fsnotify.Remove) // the events, late
		h.event("web.yaml", fsnotify.Create)
		h.advance(time.Second)
		s := h.snaps()
		for _, snap := range s {
			if !slices.Contains(appNames(snap), "web") {
				t.Fatalf("a snapshot without web was emitted: %s", describe(snap))
			}
		}
		if appCmd(s[len(s)-1], "web") != "v2" {
			t.Fatalf("last snapshot %s, want web v2", describe(s[len(s)-1]))
		}
	})
}
