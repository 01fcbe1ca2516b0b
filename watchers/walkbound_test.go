package watchers

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// bigTree makes a folder of n folders (with a manifest-looking file in a
// few) outside any manifests directory: a /usr/share.
func bigTree(t *testing.T, n int) string {
	t.Helper()
	big := filepath.Join(t.TempDir(), "share")
	for i := range n {
		if err := os.MkdirAll(filepath.Join(big, fmt.Sprintf("d%04d", i)), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return big
}

// A folder link to a tree of 1500 folders outside the manifests directory
// is not walked past maxWatchedFolders: the walk fails with an error naming
// the link, and the watch set keeps only the folders of the tree itself.
func TestList_FolderLinkToAHugeTreeIsBounded(t *testing.T) {
	big := bigTree(t, 1500)
	root := t.TempDir()
	writeFile(t, filepath.Join(root, "web.yaml"), manifest("web", "v1"))
	writeFile(t, filepath.Join(root, "team/db.yaml"), manifest("db", "v1"))
	symlink(t, big, filepath.Join(root, "team", "usr"))
	l, err := list(root, os.ReadDir, nil)
	if !errors.Is(err, errWalkBound) || !strings.Contains(err.Error(), "more than 1000 folders") ||
		!strings.Contains(err.Error(), "through the folder link team/usr -> "+big) {
		t.Fatalf("err %v; want the bound, naming the link team/usr -> %s", err, big)
	}
	if len(l.watch) > 10 {
		t.Fatalf("%d folders to watch after the bound was hit, want those of the tree only", len(l.watch))
	}
	if _, ok := l.watch[filepath.Join(root, "team")]; !ok {
		t.Fatalf("the link's folder is not watched (to see it fixed): %v", l.watch)
	}
}

// A folder deeper than maxFolderDepth is not read: an error names it.
func TestList_DepthIsBounded(t *testing.T) {
	root := t.TempDir()
	deep := root
	for i := range 20 {
		deep = filepath.Join(deep, fmt.Sprintf("l%d", i))
	}
	writeFile(t, filepath.Join(deep, "web.yaml"), manifest("web", "v1"))
	_, err := list(root, os.ReadDir, nil)
	if !errors.Is(err, errWalkBound) || !strings.Contains(err.Error(), "l0/l1/l2/l3/l4/l5/l6/l7/l8/l9/l10/l11/l12/l13/l14/l15/l16 is more than 16 levels deep") {
		t.Fatalf("err %v; want the depth bound naming the folder", err)
	}
	// 16 levels are read.
	root = t.TempDir()
	deep = root
	for i := range 15 {
		deep = filepath.Join(deep, fmt.Sprintf("l%d", i))
	}
	writeFile(t, filepath.Join(deep, "web.yaml"), manifest("web", "v1"))
	if l, err := list(root, os.ReadDir, nil); err != nil || len(l.files) != 1 {
		t.Fatalf("16 levels: %v, %d files", err, len(l.files))
	}
}

// countingWatcher is a real fsnotify watcher that counts the folders it
// was asked to watch.
type countingWatcher struct {
	watcher
	mu   sync.Mutex
	dirs map[string]bool
}

func (c *countingWatcher) Add(path string) error {
	c.mu.Lock()
	c.dirs[path] = true
	c.mu.Unlock()
	return c.watcher.Add(path)
}

func (c *countingWatcher) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.dirs)
}

// A folder link to a huge tree, added to a watched manifests directory,
// makes the source unavailable with an error naming the link (the apps
// stay), costs a handful of inotify watches rather than thousands, and
// removing the link brings the source back.
func TestDir_FolderLinkToAHugeTree(t *testing.T) {
	t.Parallel()
	big := bigTree(t, 1500)
	root := t.TempDir()
	writeFile(t, filepath.Join(root, "web.yaml"), manifest("web", "v1"))
	var cw *countingWatcher
	var mu sync.Mutex
	_, sink := startDir(t, Options{Root: root}, func(d *Dir) {
		d.newWatcher = func() (watcher, error) {
			w, err := newFSWatcher()
			if err != nil {
				return nil, err
			}
			mu.Lock()
			defer mu.Unlock()
			cw = &countingWatcher{watcher: w, dirs: map[string]bool{}}
			return cw, nil
		}
	})
	sink.waitSnap(t, "web", hasApps("web"))
	symlink(t, big, filepath.Join(root, "share"))
	sink.waitUnavailable(t, 1)
	sink.mu.Lock()
	err := sink.unavail[0]
	sink.mu.Unlock()
	if !strings.Contains(err.Error(), "more than 1000 folders") || !strings.Contains(err.Error(), "share -> "+big) {
		t.Fatalf("unavailable: %v; want the bound naming the link", err)
	}
	mu.Lock()
	n := cw.count()
	mu.Unlock()
	if n > 10 {
		t.Fatalf("%d folders watched, want a handful", n)
	}
	if err := os.Remove(filepath.Join(root, "share")); err != nil {
		t.Fatal(err)
	}
	sink.waitUntil(t, "a snapshot after the link went", func() bool { r, _ := sink.counts(); return r >= 2 })
}
