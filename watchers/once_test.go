package watchers

import (
	"os"
	"path/filepath"
	"slices"
	"syscall"
	"testing"

	"proclet.dev/proclet/apis/v1alpha1"
)

func TestManifestFiles(t *testing.T) {
	root := t.TempDir()
	for _, name := range []string{"a.yaml", "b.yml", "c.json", "d.toml", "sub/e.yaml", "sub/deeper/f.yaml",
		"README.md", ".hidden.yaml", ".git/g.yaml", "a.yaml~", "#a.yaml#", "4913", "a.yaml.bak"} {
		writeFile(t, filepath.Join(root, name), manifest("x", "x"))
	}
	if err := syscall.Mkfifo(filepath.Join(root, "fifo.yaml"), 0o644); err != nil {
		t.Fatal(err)
	}
	symlink(t, "missing.yaml", filepath.Join(root, "broken.yaml"))
	symlink(t, "sub", filepath.Join(root, "zlink"))
	got, err := ManifestFiles(root)
	if err != nil {
		t.Fatal(err)
	}
	// The FIFO and the broken link are listed: reading them is the error.
	want := []string{"a.yaml", "b.yml", "broken.yaml", "c.json", "d.toml", "fifo.yaml", "sub/deeper/f.yaml", "sub/e.yaml"}
	if !slices.Equal(got, want) {
		t.Fatalf("ManifestFiles = %q, want %q", got, want)
	}
	if _, err := ManifestFiles(filepath.Join(root, "nope")); err == nil {
		t.Fatal("ManifestFiles of a missing dir: no error")
	}
}

func TestReadOnce(t *testing.T) {
	base := t.TempDir()
	writeFile(t, filepath.Join(base, ".worktrees/c0ffee/b.yaml"), manifest("web", "from-b"))
	writeFile(t, filepath.Join(base, ".worktrees/c0ffee/a.yaml"), manifest("web", "from-a"))
	writeFile(t, filepath.Join(base, ".worktrees/c0ffee/sub/db.yaml"), manifest("db", "v1"))
	writeFile(t, filepath.Join(base, ".worktrees/c0ffee/bad.yaml"), "kind: [")
	symlink(t, ".worktrees/c0ffee", filepath.Join(base, "current"))
	snap, err := ReadOnce(filepath.Join(base, "current"))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(appNames(snap), []string{"db", "web"}) || appCmd(snap, "web") != "from-a" || snap.SourceRevision != "c0ffee" {
		t.Fatalf("ReadOnce = %s", describe(snap))
	}
	if f, _ := fileStatus(snap, "bad.yaml"); f.Error == nil || f.Error.Reason != v1alpha1.ReasonInvalid {
		t.Fatalf("bad.yaml = %+v", f)
	}
	if f, _ := fileStatus(snap, "b.yaml"); f.Error == nil || f.Error.Reason != v1alpha1.ReasonDuplicateName {
		t.Fatalf("b.yaml = %+v", f)
	}

	if _, err := ReadOnce(filepath.Join(base, "missing")); err == nil {
		t.Fatal("ReadOnce of a missing dir: no error")
	}
	if err := os.RemoveAll(filepath.Join(base, ".worktrees")); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadOnce(filepath.Join(base, "current")); err == nil {
		t.Fatal("ReadOnce through a dangling link: no error")
	}
}
