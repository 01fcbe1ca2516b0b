package watchers

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"proclet.dev/proclet/apis/v1alpha1"
)

// swapLink points link at target the way git-sync and `mv -T` do: a new
// link under a temp name renamed over the old one.
func swapLink(t *testing.T, target, link string) {
	t.Helper()
	tmp := filepath.Join(filepath.Dir(link), "tmp-link")
	symlink(t, target, tmp)
	rename(t, tmp, link)
}

// TRAP 7: a git-sync link swap with the old worktree deleted at once is
// one change, and the watch follows the new worktree.
func TestDir_GitSyncSwap(t *testing.T) {
	t.Parallel()
	for _, layout := range []struct{ name, sub string }{
		{"root is the link", ""},
		{"link on the root's path", "manifests"},
	} {
		t.Run(layout.name, func(t *testing.T) {
			t.Parallel()
			base := t.TempDir()
			tree := func(rev string) string { return filepath.Join(base, ".worktrees", rev, layout.sub) }
			writeFile(t, filepath.Join(tree("A"), "web.yaml"), manifest("web", "a"))
			writeFile(t, filepath.Join(tree("A"), "db/db.yaml"), manifest("db", "a"))
			symlink(t, ".worktrees/A", filepath.Join(base, "link"))
			root := filepath.Join(base, "link", layout.sub)

			_, sink := startDir(t, Options{Root: root}, nil)
			snap := sink.waitSnap(t, "revision A", hasApps("db", "web"))
			if snap.SourceRevision != "A" {
				t.Fatalf("revision = %q, want A", snap.SourceRevision)
			}
			if got, want := snap.Apps[0].Dir, filepath.Join(root, "db"); got != want {
				t.Fatalf("db Dir = %q, want %q (through the link, not the worktree)", got, want)
			}

			writeFile(t, filepath.Join(tree("B"), "web.yaml"), manifest("web", "b"))
			writeFile(t, filepath.Join(tree("B"), "api/api.yaml"), manifest("api", "b"))
			swapLink(t, ".worktrees/B", filepath.Join(base, "link"))
			if err := os.RemoveAll(filepath.Join(base, ".worktrees/A")); err != nil {
				t.Fatal(err)
			}
			snap = sink.waitSnap(t, "revision B", hasApps("api", "web"))
			if snap.SourceRevision != "B" || appCmd(snap, "web") != "b" {
				t.Fatalf("after the swap: %s", describe(snap))
			}

			// Later edits inside B are seen: the watch moved.
			writeAtomic(t, filepath.Join(tree("B"), "web.yaml"), manifest("web", "b2"))
			sink.waitSnap(t, "an edit in B", func(s v1alpha1.Snapshot) bool { return appCmd(s, "web") == "b2" })
			writeFile(t, filepath.Join(tree("B"), "new/db.yaml"), manifest("db", "b"))
			sink.waitSnap(t, "a new folder in B", hasApps("api", "db", "web"))

			for i, s := range sink.all() {
				if !consistentRevision(s) {
					t.Fatalf("snapshot %d mixes revisions: %s", i, describe(s))
				}
			}
		})
	}
}

// consistentRevision: every app's command starts with the revision's letter.
func consistentRevision(s v1alpha1.Snapshot) bool {
	for _, a := range s.Apps {
		if !strings.HasPrefix(a.App.Spec.Command[0], strings.ToLower(s.SourceRevision)) {
			return false
		}
	}
	return true
}

// TRAP 6: a Kubernetes ConfigMap volume swaps its hidden ..data link.
func TestDir_ConfigMapSwap(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	generation := func(n string) {
		dir := filepath.Join(root, "..ts"+n)
		writeFile(t, filepath.Join(dir, "web.yaml"), manifest("web", "v"+n))
		writeFile(t, filepath.Join(dir, "db.yaml"), manifest("db", "v"+n))
	}
	generation("1")
	symlink(t, "..ts1", filepath.Join(root, "..data"))
	symlink(t, "..data/web.yaml", filepath.Join(root, "web.yaml"))
	symlink(t, "..data/db.yaml", filepath.Join(root, "db.yaml"))

	_, sink := startDir(t, Options{Root: root}, nil)
	snap := sink.waitSnap(t, "v1", func(s v1alpha1.Snapshot) bool { return appCmd(s, "web") == "v1" })
	if snap.SourceRevision != "" || snap.Apps[1].Path != "web.yaml" || snap.Apps[1].Dir != root {
		t.Fatalf("snapshot = %s, Dir %q", describe(snap), snap.Apps[1].Dir)
	}
	for _, n := range []string{"2", "3"} {
		prev := map[string]string{"2": "1", "3": "2"}[n]
		generation(n)
		start := time.Now()
		symlink(t, "..ts"+n, filepath.Join(root, "..data_tmp"))
		rename(t, filepath.Join(root, "..data_tmp"), filepath.Join(root, "..data"))
		if err := os.RemoveAll(filepath.Join(root, "..ts"+prev)); err != nil {
			t.Fatal(err)
		}
		sink.waitSnap(t, "v"+n, func(s v1alpha1.Snapshot) bool { return appCmd(s, "web") == "v"+n })
		if d := time.Since(start); d > time.Second {
			t.Errorf("swap to ..ts%s seen after %v", n, d)
		}
	}
	for i, s := range sink.all() {
		if appCmd(s, "web") != appCmd(s, "db") {
			t.Fatalf("snapshot %d mixes generations: %s", i, describe(s))
		}
	}
}

// TRAP 8: the link is swapped in the middle of a read (from the decoder,
// the read hook): the snapshot is all A or all B, never deletions.
func TestDir_SwapDuringReadIsNotTorn(t *testing.T) {
	t.Parallel()
	for _, deleteOld := range []bool{true, false} {
		name := map[bool]string{true: "old target deleted", false: "old target kept"}[deleteOld]
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			base := t.TempDir()
			for _, rev := range []string{"A", "B"} {
				for _, app := range []string{"one", "two", "three", "four"} {
					writeFile(t, filepath.Join(base, ".worktrees", rev, app+".yaml"), manifest(app, strings.ToLower(rev)))
				}
			}
			link := filepath.Join(base, "link")
			symlink(t, ".worktrees/A", link)
			var armed, swapped atomic.Bool
			decode := func(path string, data []byte) ([]v1alpha1.App, error) {
				if armed.Load() && !swapped.Swap(true) {
					swapLink(t, ".worktrees/B", link)
					if deleteOld {
						if err := os.RemoveAll(filepath.Join(base, ".worktrees/A")); err != nil {
							t.Error(err)
						}
					}
				}
				return v1alpha1.DecodeFile(path, data)
			}
			var fw fakeWatchers // no events: only the torn read can bring B
			d, sink := startDir(t, Options{Root: link, Decode: decode}, func(d *Dir) { d.newWatcher = fw.new })
			sink.waitSnap(t, "revision A", func(s v1alpha1.Snapshot) bool { return s.SourceRevision == "A" })
			armed.Store(true)
			// Decoding is cached by content: change one file of A so the
			// rescan decodes it, and the hook swaps the link mid-read.
			writeFile(t, filepath.Join(base, ".worktrees", "A", "one.yaml"), manifest("one", "a2"))
			d.Rescan()
			snap := sink.waitSnap(t, "revision B", func(s v1alpha1.Snapshot) bool { return s.SourceRevision == "B" })
			if len(snap.Apps) != 4 {
				t.Fatalf("after the swap: %s", describe(snap))
			}
			for i, s := range sink.all() {
				if len(s.Apps) != 4 || !consistentRevision(s) {
					t.Fatalf("snapshot %d is torn: %s", i, describe(s))
				}
			}
			if _, u := sink.counts(); u != 0 {
				t.Fatalf("Unavailable called %d times", u)
			}
		})
	}
}

// A symlinked folder whose target vanishes is unavailable, not empty.
func TestDir_DanglingFolderLinkIsUnavailable(t *testing.T) {
	t.Parallel()
	base := t.TempDir()
	root := filepath.Join(base, "manifests")
	writeFile(t, filepath.Join(root, "web.yaml"), manifest("web", "v1"))
	writeFile(t, filepath.Join(base, "team/db.yaml"), manifest("db", "v1"))
	symlink(t, "../team", filepath.Join(root, "team"))

	_, sink := startDir(t, Options{Root: root}, nil)
	snap := sink.waitSnap(t, "both apps", hasApps("db", "web"))
	if snap.Apps[0].Path != "team/db.yaml" || snap.Apps[0].Dir != filepath.Join(root, "team") {
		t.Fatalf("db: Path %q Dir %q", snap.Apps[0].Path, snap.Apps[0].Dir)
	}
	if err := os.RemoveAll(filepath.Join(base, "team")); err != nil {
		t.Fatal(err)
	}
	sink.waitUnavailable(t, 1)
	writeFile(t, filepath.Join(base, "team/db.yaml"), manifest("db", "v2"))
	sink.waitSnap(t, "db back", func(s v1alpha1.Snapshot) bool { return appCmd(s, "db") == "v2" })
	for i, s := range sink.all() {
		if !slices.Equal(appNames(s), []string{"db", "web"}) {
			t.Fatalf("snapshot %d lost an app: %s", i, describe(s))
		}
	}
}
