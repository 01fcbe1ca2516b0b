package watchers

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/fsnotify/fsnotify"
	"proclet.dev/proclet/apis/v1alpha1"
)

func hasApps(names ...string) func(v1alpha1.Snapshot) bool {
	return func(s v1alpha1.Snapshot) bool { return slices.Equal(appNames(s), names) }
}

func TestDir_EmptyDirIsAnEmptySnapshot(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	_, sink := startDir(t, Options{Root: root}, nil)
	snap := sink.waitSnap(t, "a first snapshot", func(v1alpha1.Snapshot) bool { return true })
	if len(snap.Apps) != 0 || len(snap.Files) != 0 || snap.SourceRevision != "" || snap.ReadAt.IsZero() {
		t.Fatalf("snapshot of an empty dir = %s, ReadAt %v", describe(snap), snap.ReadAt)
	}
	if _, u := sink.counts(); u != 0 {
		t.Fatalf("Unavailable called %d times for an existing empty dir", u)
	}
}

func TestDir_CreateEditRenameOverDelete(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	_, sink := startDir(t, Options{Root: root}, nil)
	sink.waitSnap(t, "the empty snapshot", hasApps())

	writeFile(t, filepath.Join(root, "web.yaml"), manifest("web", "v1"))
	snap := sink.waitSnap(t, "web created", func(s v1alpha1.Snapshot) bool { return appCmd(s, "web") == "v1" })
	if a := snap.Apps[0]; a.Path != "web.yaml" || a.Dir != root {
		t.Fatalf("web: Path %q Dir %q, want web.yaml and %s", a.Path, a.Dir, root)
	}
	if f, _ := fileStatus(snap, "web.yaml"); f.Error != nil || !slices.Equal(f.Objects, []string{"web"}) {
		t.Fatalf("web.yaml status = %+v", f)
	}

	writeFile(t, filepath.Join(root, "web.yaml"), manifest("web", "v2")) // in place
	sink.waitSnap(t, "web edited in place", func(s v1alpha1.Snapshot) bool { return appCmd(s, "web") == "v2" })

	// TRAP 5: rename-over (atomic save) has no Remove event; it applies
	// within the debounce window, not at the resync (an hour here).
	start := time.Now()
	writeAtomic(t, filepath.Join(root, "web.yaml"), manifest("web", "v3"))
	sink.waitSnap(t, "web saved atomically", func(s v1alpha1.Snapshot) bool { return appCmd(s, "web") == "v3" })
	if d := time.Since(start); d > time.Second {
		t.Errorf("atomic save applied after %v", d)
	}

	if err := os.Remove(filepath.Join(root, "web.yaml")); err != nil {
		t.Fatal(err)
	}
	snap = sink.waitSnap(t, "web deleted", hasApps())
	if len(snap.Files) != 0 {
		t.Fatalf("files after delete = %s", describe(snap))
	}
}

// TRAP 3: vim's write sequence (probe file, rename to ~, create, write,
// remove ~) never shows a snapshot without the app.
func TestDir_VimWriteDance(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	web := filepath.Join(root, "web.yaml")
	writeFile(t, web, manifest("web", "v1"))
	_, sink := startDir(t, Options{Root: root, Debounce: 200 * time.Millisecond}, nil)
	sink.waitSnap(t, "web v1", func(s v1alpha1.Snapshot) bool { return appCmd(s, "web") == "v1" })

	writeFile(t, filepath.Join(root, "4913"), "")
	if err := os.Remove(filepath.Join(root, "4913")); err != nil {
		t.Fatal(err)
	}
	rename(t, web, web+"~")
	writeFile(t, web, manifest("web", "v2"))
	if err := os.Remove(web + "~"); err != nil {
		t.Fatal(err)
	}
	sink.waitSnap(t, "web v2", func(s v1alpha1.Snapshot) bool { return appCmd(s, "web") == "v2" })
	for i, s := range sink.all() {
		if !slices.Equal(appNames(s), []string{"web"}) {
			t.Fatalf("snapshot %d lost web mid-save: %s", i, describe(s))
		}
	}
}

func TestDir_NewSubfolders(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	_, sink := startDir(t, Options{Root: root}, nil)
	sink.waitSnap(t, "the empty snapshot", hasApps())

	writeFile(t, filepath.Join(root, "team/a/db.yaml"), manifest("db", "v1"))
	snap := sink.waitSnap(t, "db in a new subfolder", hasApps("db"))
	if a := snap.Apps[0]; a.Path != "team/a/db.yaml" || a.Dir != filepath.Join(root, "team/a") {
		t.Fatalf("db: Path %q Dir %q", a.Path, a.Dir)
	}
	// The new folders are watched: later edits in them are seen.
	writeFile(t, filepath.Join(root, "team/a/api.yaml"), manifest("api", "v1"))
	sink.waitSnap(t, "api in the same subfolder", hasApps("api", "db"))
	writeAtomic(t, filepath.Join(root, "team/a/db.yaml"), manifest("db", "v2"))
	sink.waitSnap(t, "db edited", func(s v1alpha1.Snapshot) bool { return appCmd(s, "db") == "v2" })
	if err := os.RemoveAll(filepath.Join(root, "team")); err != nil {
		t.Fatal(err)
	}
	sink.waitSnap(t, "the subfolder removed", hasApps())
}

// TRAP 1 and 2: a truncated or broken file keeps its last good apps and
// reports the problem; fixing it applies the fix.
func TestDir_PartialWriteKeepsLastGood(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	web := filepath.Join(root, "web.yaml")
	writeFile(t, web, manifest("web", "v1"))
	_, sink := startDir(t, Options{Root: root}, nil)
	sink.waitSnap(t, "web v1", func(s v1alpha1.Snapshot) bool { return appCmd(s, "web") == "v1" })

	full := manifest("web", "v2")
	writeFile(t, web, full[:strings.Index(full, "metadata")+4]) // O_TRUNC, then half of it
	snap := sink.waitSnap(t, "the broken file reported", func(s v1alpha1.Snapshot) bool {
		f, _ := fileStatus(s, "web.yaml")
		return f.Error != nil
	})
	f, _ := fileStatus(snap, "web.yaml")
	if appCmd(snap, "web") != "v1" || !slices.Equal(f.Objects, []string{"web"}) || f.Error.Reason != v1alpha1.ReasonInvalid {
		t.Fatalf("after a partial write: %s", describe(snap))
	}

	writeFile(t, web, full)
	snap = sink.waitSnap(t, "web v2", func(s v1alpha1.Snapshot) bool { return appCmd(s, "web") == "v2" })
	if f, _ := fileStatus(snap, "web.yaml"); f.Error != nil {
		t.Fatalf("fixed file still has an error: %v", f.Error)
	}
	for i, s := range sink.all() {
		if !slices.Equal(appNames(s), []string{"web"}) {
			t.Fatalf("snapshot %d lost web: %s", i, describe(s))
		}
	}
}

func TestDir_FileOverOneMiB(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	pad := "\n#" + strings.Repeat("x", MaxManifestSize)
	writeFile(t, filepath.Join(root, "big.yaml"), manifest("big", "v1")+pad)
	writeFile(t, filepath.Join(root, "web.yaml"), manifest("web", "v1"))
	_, sink := startDir(t, Options{Root: root}, nil)
	snap := sink.waitSnap(t, "web", hasApps("web"))
	f, ok := fileStatus(snap, "big.yaml")
	if !ok || f.Error == nil || f.Error.Reason != v1alpha1.ReasonUnreadable {
		t.Fatalf("big.yaml status = %+v, want an Unreadable error", f)
	}

	// A good file that grows too large keeps its last good version.
	writeFile(t, filepath.Join(root, "web.yaml"), manifest("web", "v2")+pad)
	snap = sink.waitSnap(t, "web.yaml too large", func(s v1alpha1.Snapshot) bool {
		f, _ := fileStatus(s, "web.yaml")
		return f.Error != nil
	})
	if appCmd(snap, "web") != "v1" {
		t.Fatalf("web after growing over 1 MiB: %s", describe(snap))
	}
}

// FIFOs are never opened (a read would hang); named like manifests, they
// and link loops are reported as unreadable files. Folder link loops are
// walked once.
func TestDir_FIFOsAndLinkLoops(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	writeFile(t, filepath.Join(root, "web.yaml"), manifest("web", "v1"))
	if err := syscall.Mkfifo(filepath.Join(root, "fifo.yaml"), 0o644); err != nil {
		t.Fatal(err)
	}
	symlink(t, "fifo.yaml", filepath.Join(root, "tofifo.yaml"))
	symlink(t, "loop.yaml", filepath.Join(root, "loop.yaml"))
	symlink(t, "b.yaml", filepath.Join(root, "a.yaml"))
	symlink(t, "a.yaml", filepath.Join(root, "b.yaml"))
	if err := os.MkdirAll(filepath.Join(root, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	symlink(t, "..", filepath.Join(root, "sub/up"))
	symlink(t, ".", filepath.Join(root, "sub/self"))

	_, sink := startDir(t, Options{Root: root}, nil)
	snap := sink.waitSnap(t, "a snapshot", func(v1alpha1.Snapshot) bool { return true })
	if !slices.Equal(appNames(snap), []string{"web"}) || len(snap.Files) != 6 {
		t.Fatalf("snapshot = %s, want web and 5 unreadable files", describe(snap))
	}
	for _, name := range []string{"fifo.yaml", "tofifo.yaml", "loop.yaml", "a.yaml", "b.yaml"} {
		if f, ok := fileStatus(snap, name); !ok || f.Error == nil || f.Error.Reason != v1alpha1.ReasonUnreadable {
			t.Errorf("%s: %+v, want an Unreadable error", name, f)
		}
	}
	// A FIFO appearing later does not hang the loop either.
	if err := syscall.Mkfifo(filepath.Join(root, "sub/late.yaml"), 0o644); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(root, "sub/db.yaml"), manifest("db", "v1"))
	sink.waitSnap(t, "db next to a FIFO", hasApps("db", "web"))
}

// TRAP 3: editor leftovers and hidden files are never read.
func TestDir_IgnoredNames(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	writeFile(t, filepath.Join(root, "web.yaml"), manifest("web", "v1"))
	for i, name := range []string{"a.yaml~", "#a.yaml#", ".a.yaml.swp", "4913", "a.yaml.bak", "a.yaml.dpkg-new",
		"a.yaml.tmp", ".hidden.yaml", "README.md", "a.YAML", ".git/x.yaml", "old.bak/x.yaml", "x.dpkg-old.yaml"} {
		writeFile(t, filepath.Join(root, name), manifest("leftover"+string(rune('a'+i)), "x"))
	}
	_, sink := startDir(t, Options{Root: root}, nil)
	snap := sink.waitSnap(t, "a snapshot", func(v1alpha1.Snapshot) bool { return true })
	if !slices.Equal(appNames(snap), []string{"web"}) || len(snap.Files) != 1 {
		t.Fatalf("snapshot = %s, want web.yaml only", describe(snap))
	}
}

// TRAP 4: the winner of a duplicate name does not depend on scan order.
func TestDir_DuplicateNamesStable(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	writeFile(t, filepath.Join(root, "a.yaml"), manifest("web", "from-a"))
	writeFile(t, filepath.Join(root, "b.yaml"), manifest("web", "from-b"))
	d, sink := startDir(t, Options{Root: root}, nil)
	snap := sink.waitSnap(t, "web", hasApps("web"))
	check := func(snap v1alpha1.Snapshot, winner, loser string) {
		t.Helper()
		if got := snap.Apps[0].Path; got != winner {
			t.Fatalf("web from %s, want %s: %s", got, winner, describe(snap))
		}
		f, _ := fileStatus(snap, loser)
		want := `app "web" is already defined in ` + winner
		if f.Error == nil || f.Error.Reason != v1alpha1.ReasonDuplicateName || f.Error.Message != want {
			t.Fatalf("%s error = %v, want DuplicateName %q", loser, f.Error, want)
		}
	}
	check(snap, "a.yaml", "b.yaml")
	for range 3 {
		n, _ := sink.counts()
		d.Rescan()
		sink.waitUntil(t, "a rescan", func() bool { m, _ := sink.counts(); return m > n })
		check(sink.waitSnap(t, "web", hasApps("web")), "a.yaml", "b.yaml")
	}
	// The owner goes: b takes the name; a comes back: b keeps it.
	if err := os.Remove(filepath.Join(root, "a.yaml")); err != nil {
		t.Fatal(err)
	}
	sink.waitSnap(t, "web from b", func(s v1alpha1.Snapshot) bool { return appCmd(s, "web") == "from-b" && len(s.Files) == 1 })
	writeFile(t, filepath.Join(root, "a.yaml"), manifest("web", "from-a"))
	snap = sink.waitSnap(t, "a back", func(s v1alpha1.Snapshot) bool { return len(s.Files) == 2 })
	check(snap, "b.yaml", "a.yaml")
}

// TRAP 9: a missing directory is not an empty one.
func TestDir_RootMissingIsUnavailable(t *testing.T) {
	t.Parallel()
	root := filepath.Join(t.TempDir(), "manifests")
	d, sink := startDir(t, Options{Root: root}, nil)
	sink.waitUnavailable(t, 1)
	d.Rescan()
	sink.waitUnavailable(t, 2)
	if n, _ := sink.counts(); n != 0 {
		t.Fatalf("Replace called %d times for a missing root", n)
	}

	// Created, with its manifest at once (renamed into place: a folder
	// created empty and then written would rightly give an empty snapshot
	// first): a snapshot.
	tmp := filepath.Join(filepath.Dir(root), "tmp")
	writeFile(t, filepath.Join(tmp, "web.yaml"), manifest("web", "v1"))
	rename(t, tmp, root)
	sink.waitSnap(t, "web", hasApps("web"))

	// Removed: unavailable, the last snapshot still stands.
	_, u := sink.counts()
	if err := os.RemoveAll(root); err != nil {
		t.Fatal(err)
	}
	sink.waitUnavailable(t, u+1)
	for i, s := range sink.all() {
		if !slices.Equal(appNames(s), []string{"web"}) {
			t.Fatalf("snapshot %d without web: %s", i, describe(s))
		}
	}

	// Recreated empty: now it is empty.
	if err := os.Mkdir(root, 0o755); err != nil {
		t.Fatal(err)
	}
	sink.waitSnap(t, "the empty snapshot", hasApps())
}

func TestDir_DanglingRootLinkIsUnavailable(t *testing.T) {
	t.Parallel()
	base := t.TempDir()
	root := filepath.Join(base, "link")
	symlink(t, ".worktrees/A", root)
	d, sink := startDir(t, Options{Root: root}, nil)
	sink.waitUnavailable(t, 1)
	d.Rescan()
	sink.waitUnavailable(t, 2)
	if n, _ := sink.counts(); n != 0 {
		t.Fatalf("Replace called %d times for a dangling root", n)
	}
	writeFile(t, filepath.Join(base, ".worktrees/A/web.yaml"), manifest("web", "v1"))
	snap := sink.waitSnap(t, "web once the target exists", hasApps("web"))
	if snap.SourceRevision != "A" || snap.Apps[0].Dir != root {
		t.Fatalf("revision %q, Dir %q; want A and %s", snap.SourceRevision, snap.Apps[0].Dir, root)
	}
}

// TRAP 10: the periodic resync alone converges when every event is lost.
func TestDir_ResyncAloneConverges(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	var fw fakeWatchers
	_, sink := startDir(t, Options{Root: root, Resync: 100 * time.Millisecond}, func(d *Dir) { d.newWatcher = fw.new })
	sink.waitSnap(t, "the empty snapshot", hasApps())
	writeFile(t, filepath.Join(root, "web.yaml"), manifest("web", "v1"))
	sink.waitSnap(t, "web by resync", hasApps("web"))
	if err := os.Remove(filepath.Join(root, "web.yaml")); err != nil {
		t.Fatal(err)
	}
	sink.waitSnap(t, "web gone by resync", hasApps())
}

func TestDir_RescanWithoutEvents(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	var fw fakeWatchers
	d, sink := startDir(t, Options{Root: root}, func(d *Dir) { d.newWatcher = fw.new })
	sink.waitSnap(t, "the empty snapshot", hasApps())
	writeFile(t, filepath.Join(root, "web.yaml"), manifest("web", "v1"))
	d.Rescan()
	sink.waitSnap(t, "web by Rescan", hasApps("web"))
}

// TRAP 10: an overflow rescans at once and rebuilds the watcher.
func TestDir_WatchErrorRescansAndRebuilds(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	var fw fakeWatchers
	_, sink := startDir(t, Options{Root: root}, func(d *Dir) { d.newWatcher = fw.new })
	sink.waitSnap(t, "the empty snapshot", hasApps())
	writeFile(t, filepath.Join(root, "web.yaml"), manifest("web", "v1")) // its events are lost
	fw.current.Load().errs <- fsnotify.ErrEventOverflow
	sink.waitSnap(t, "web after the overflow", hasApps("web"))
	if got := fw.made.Load(); got != 2 {
		t.Fatalf("watchers made = %d, want 2 (rebuilt)", got)
	}
	// The new watcher's events are heard.
	writeFile(t, filepath.Join(root, "db.yaml"), manifest("db", "v1"))
	fw.current.Load().events <- fsnotify.Event{Name: filepath.Join(root, "db.yaml"), Op: fsnotify.Create}
	sink.waitSnap(t, "db after an event", hasApps("db", "web"))
}

// An unreadable folder makes the source unavailable instead of dropping its
// apps. (Permissions do not stop root, so the folder read fails by a seam.)
func TestDir_UnreadableSubfolderIsUnavailable(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	writeFile(t, filepath.Join(root, "web.yaml"), manifest("web", "v1"))
	writeFile(t, filepath.Join(root, "locked/db.yaml"), manifest("db", "v1"))
	var locked atomic.Bool
	readDir := func(name string) ([]os.DirEntry, error) {
		if locked.Load() && filepath.Base(name) == "locked" {
			return nil, &fs.PathError{Op: "open", Path: name, Err: syscall.EACCES}
		}
		return os.ReadDir(name)
	}
	d, sink := startDir(t, Options{Root: root}, func(d *Dir) { d.readDir = readDir })
	sink.waitSnap(t, "both apps", hasApps("db", "web"))
	locked.Store(true)
	d.Rescan()
	sink.waitUnavailable(t, 1)
	n, _ := sink.counts()
	d.Rescan()
	sink.waitUnavailable(t, 2)
	if m, _ := sink.counts(); m != n {
		t.Fatalf("Replace called while a folder is unreadable")
	}
	locked.Store(false)
	d.Rescan()
	sink.waitUntil(t, "a snapshot again", func() bool { m, _ := sink.counts(); return m > n })
	sink.waitSnap(t, "both apps", hasApps("db", "web"))
}

// TRAP 11: a burst of 1000 files costs a bounded number of scans.
func TestDir_EventStormIsBounded(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	const window = 50 * time.Millisecond
	_, sink := startDir(t, Options{Root: root, Debounce: window}, nil)
	sink.waitSnap(t, "the empty snapshot", hasApps())
	before, _ := sink.counts()
	start := time.Now()
	const n = 1000
	for i := range n {
		writeFile(t, filepath.Join(root, fmt.Sprintf("app%04d.yaml", i)), manifest(fmt.Sprintf("app%04d", i), "x"))
	}
	sink.waitSnap(t, "all apps", func(s v1alpha1.Snapshot) bool { return len(s.Apps) == n })
	elapsed := time.Since(start)
	after, _ := sink.counts()
	scans := after - before
	if limit := int(elapsed/window) + 4; scans > limit {
		t.Fatalf("%d snapshots for %d files in %v, want at most %d", scans, n, elapsed, limit)
	}
	t.Logf("%d files in %v: %d snapshots", n, elapsed, scans)
}
