package watchers

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

const (
	commitA = "0123456789abcdef0123456789abcdef01234567"
	commitB = "89abcdef0123456789abcdef0123456789abcdef"
)

func writeFiles(t *testing.T, root string, files map[string]string) {
	t.Helper()
	for p, content := range files {
		p = filepath.Join(root, p)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// TestGitHead reads the commit checked out from .git without git: a
// branch's loose ref, a packed one, a detached HEAD, a linked worktree's
// .git file; and nothing from a folder without .git or a HEAD naming no
// commit.
func TestGitHead(t *testing.T) {
	tests := []struct {
		name  string
		files map[string]string
		want  string
	}{
		{"loose ref", map[string]string{".git/HEAD": "ref: refs/heads/main\n", ".git/refs/heads/main": commitA + "\n"}, commitA},
		{"packed ref", map[string]string{".git/HEAD": "ref: refs/heads/main\n",
			".git/packed-refs": "# pack-refs with: peeled fully-peeled sorted\n" + commitB + " refs/heads/other\n" + commitA + " refs/heads/main\n"}, commitA},
		{"detached", map[string]string{".git/HEAD": commitB + "\n"}, commitB},
		{"linked worktree", map[string]string{".git": "gitdir: repo/.git/worktrees/wt\n",
			"repo/.git/worktrees/wt/HEAD": "ref: refs/heads/feature\n", "repo/.git/worktrees/wt/commondir": "../..\n",
			"repo/.git/refs/heads/feature": commitB + "\n"}, commitB},
		{"no .git", map[string]string{"app.yaml": "x"}, ""},
		{"unborn branch", map[string]string{".git/HEAD": "ref: refs/heads/main\n"}, ""},
		{"ref outside refs/", map[string]string{".git/HEAD": "ref: ../../etc/passwd\n"}, ""},
		{"not a hash", map[string]string{".git/HEAD": "hello\n"}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			writeFiles(t, root, tc.files)
			if got := gitHead(root); got != tc.want {
				t.Errorf("gitHead = %q, want %q", got, tc.want)
			}
		})
	}
}

// TestGitHead_RealRepository: what git itself says HEAD is.
func TestGitHead_RealRepository(t *testing.T) {
	gitBin, err := exec.LookPath("git")
	if err != nil {
		t.Skip("no git on this machine")
	}
	root := t.TempDir()
	git := func(args ...string) string {
		t.Helper()
		cmd := exec.Command(gitBin, append([]string{"-C", root, "-c", "user.name=t", "-c", "user.email=t@t", "-c", "commit.gpgsign=false"}, args...)...)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("git %v: %v: %s", args, err, out)
		}
		return strings.TrimSpace(string(out))
	}
	git("init", "-q")
	writeFiles(t, root, map[string]string{"app.yaml": "x"})
	git("add", "app.yaml")
	git("commit", "-q", "-m", "one")
	git("pack-refs", "--all")
	if got, want := gitHead(root), git("rev-parse", "HEAD"); got != want {
		t.Errorf("gitHead = %q, git rev-parse HEAD = %q", got, want)
	}
}

// TestReadOnce_RevisionOfAClone: a manifests folder that is a clone (no
// link followed) is read at the commit its .git checks out; a link's
// target name still wins over a .git behind it (git-sync's worktrees).
func TestReadOnce_RevisionOfAClone(t *testing.T) {
	root := t.TempDir()
	writeFiles(t, root, map[string]string{"clone/.git/HEAD": commitA + "\n", "clone/app.yaml": "x: 1\n"})
	snap, err := ReadOnce(filepath.Join(root, "clone"))
	if err != nil || snap.SourceRevision != commitA {
		t.Fatalf("ReadOnce: revision %q, err %v; want %s", snap.SourceRevision, err, commitA)
	}
	if err := os.Symlink("clone", filepath.Join(root, "current")); err != nil {
		t.Fatal(err)
	}
	if snap, err = ReadOnce(filepath.Join(root, "current")); err != nil || snap.SourceRevision != "clone" {
		t.Fatalf("through a link: revision %q, err %v; want clone", snap.SourceRevision, err)
	}
}

// TestGitHead_PackedRefsBound: packed-refs is read up to maxPackedRefs
// bytes; a ref past it is not found (the revision is empty), one before
// it is.
func TestGitHead_PackedRefsBound(t *testing.T) {
	filler := strings.Repeat(commitB+" refs/tags/filler\n", maxPackedRefs/len(commitB+" refs/tags/filler\n")+1)
	for _, tc := range []struct {
		packed, want string
	}{
		{commitA + " refs/heads/main\n" + filler, commitA},
		{filler + commitA + " refs/heads/main\n", ""},
	} {
		root := t.TempDir()
		writeFiles(t, root, map[string]string{".git/HEAD": "ref: refs/heads/main\n", ".git/packed-refs": tc.packed})
		if got := gitHead(root); got != tc.want {
			t.Errorf("packed-refs of %d bytes: %q, want %q", len(tc.packed), got, tc.want)
		}
	}
}
