package watchers

import (
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

func TestResolve(t *testing.T) {
	base := t.TempDir()
	if real, err := filepath.EvalSymlinks(base); err != nil || real != base {
		t.Skipf("temp dir %s is reached through a link (%s)", base, real)
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.MkdirAll(filepath.Join(base, ".worktrees/abc123/manifests"), 0o755))
	symlink(t, ".worktrees/abc123", filepath.Join(base, "link"))
	symlink(t, "link/manifests", filepath.Join(base, "chain"))
	symlink(t, filepath.Join(base, "loop2"), filepath.Join(base, "loop1"))
	symlink(t, "loop1", filepath.Join(base, "loop2"))
	symlink(t, ".worktrees/gone", filepath.Join(base, "dangling"))
	writeFile(t, filepath.Join(base, "file"), "x")

	tests := []struct {
		path    string
		want    string
		links   int
		rev     string
		wantErr error
	}{
		{path: base, want: base},
		{path: filepath.Join(base, "link"), want: filepath.Join(base, ".worktrees/abc123"), links: 1, rev: "abc123"},
		{path: filepath.Join(base, "link/manifests"), want: filepath.Join(base, ".worktrees/abc123/manifests"), links: 1, rev: "abc123"},
		{path: filepath.Join(base, "chain"), want: filepath.Join(base, ".worktrees/abc123/manifests"), links: 2, rev: "abc123"},
		{path: base + "/link/manifests/../manifests/./", want: filepath.Join(base, ".worktrees/abc123/manifests"), links: 1, rev: "abc123"},
		{path: base + "/link/../abc123", want: filepath.Join(base, ".worktrees/abc123"), links: 1, rev: "abc123"}, // ".." after a link is physical
		{path: filepath.Join(base, "loop1"), wantErr: syscall.ELOOP},
		{path: filepath.Join(base, "dangling"), wantErr: os.ErrNotExist},
		{path: filepath.Join(base, "file/x"), wantErr: syscall.ENOTDIR},
	}
	for _, tt := range tests {
		var links []link
		got, fi, err := resolve(tt.path, &links)
		if tt.wantErr != nil {
			if !errors.Is(err, tt.wantErr) {
				t.Errorf("resolve(%s) error = %v, want %v", tt.path, err, tt.wantErr)
			}
			continue
		}
		if err != nil || got != tt.want || fi == nil || !fi.IsDir() {
			t.Errorf("resolve(%s) = %q, %v, %v; want %q, a folder", tt.path, got, fi, err, tt.want)
			continue
		}
		if want, _ := filepath.EvalSymlinks(tt.path); got != want {
			t.Errorf("resolve(%s) = %q, EvalSymlinks says %q", tt.path, got, want)
		}
		if len(links) != tt.links || revision(links) != tt.rev {
			t.Errorf("resolve(%s): %d links, revision %q; want %d, %q", tt.path, len(links), revision(links), tt.links, tt.rev)
		}
		if err := linksChanged(links); err != nil {
			t.Errorf("linksChanged right after resolve: %v", err)
		}
	}

	// A swapped link is noticed.
	var links []link
	if _, _, err := resolve(filepath.Join(base, "link"), &links); err != nil {
		t.Fatal(err)
	}
	must(os.MkdirAll(filepath.Join(base, ".worktrees/def456"), 0o755))
	symlink(t, ".worktrees/def456", filepath.Join(base, "tmp"))
	rename(t, filepath.Join(base, "tmp"), filepath.Join(base, "link"))
	if err := linksChanged(links); err == nil {
		t.Fatal("linksChanged missed a swap")
	}
}
