package main

import (
	"context"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// gitIn runs git in dir with a fixed identity.
func gitIn(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", append([]string{"-C", dir}, args...)...)
	cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@t", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@t")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %v: %v\n%s", args, err, out)
	}
	return strings.TrimSpace(string(out))
}

func commit(t *testing.T, work, name, content string) string {
	t.Helper()
	if err := os.WriteFile(filepath.Join(work, name), []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	gitIn(t, work, "add", name)
	gitIn(t, work, "commit", "-qm", "change "+name)
	gitIn(t, work, "push", "-q", "origin", "HEAD:main")
	return gitIn(t, work, "rev-parse", "HEAD")
}

// TestSync_SwapsTheLinkToEachNewCommitAndRemovesTheOld follows a bare
// repository through two commits: the link names each commit's worktree
// in turn, the files are the commit's, the previous worktree is gone, and a
// sync with nothing new changes nothing.
func TestSync_SwapsTheLinkToEachNewCommitAndRemovesTheOld(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git not installed")
	}
	dir := t.TempDir()
	bare, work, root := filepath.Join(dir, "repo.git"), filepath.Join(dir, "work"), filepath.Join(dir, "root")
	gitIn(t, dir, "init", "-q", "--bare", "-b", "main", bare)
	gitIn(t, dir, "clone", "-q", bare, work)
	first := commit(t, work, "web.yaml", "v1\n")
	// A worktree a killed syncer left behind goes at the next swap.
	stale := filepath.Join(root, ".worktrees", "0123456789abcdef0123456789abcdef01234567")
	if err := os.MkdirAll(stale, 0o755); err != nil {
		t.Fatal(err)
	}
	s := &syncer{repo: bare, ref: "main", root: root, link: "current", depth: 1, log: slog.New(slog.DiscardHandler)}
	ctx := context.Background()
	if err := s.sync(ctx); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(root, "current")
	check := func(hash, content string) {
		t.Helper()
		target, err := os.Readlink(link)
		if err != nil || target != filepath.Join(".worktrees", hash) {
			t.Fatalf("link -> %q %v, want .worktrees/%s", target, err, hash)
		}
		b, err := os.ReadFile(filepath.Join(link, "web.yaml"))
		if err != nil || string(b) != content {
			t.Fatalf("web.yaml = %q %v, want %q", b, err, content)
		}
	}
	check(first, "v1\n")
	if _, err := os.Stat(stale); !os.IsNotExist(err) {
		t.Errorf("a stale worktree is still there: %v", err)
	}
	second := commit(t, work, "web.yaml", "v2\n")
	if err := s.sync(ctx); err != nil {
		t.Fatal(err)
	}
	check(second, "v2\n")
	if _, err := os.Stat(filepath.Join(root, ".worktrees", first)); !os.IsNotExist(err) {
		t.Errorf("the previous worktree is still there: %v", err)
	}
	entries, _ := os.ReadDir(root)
	for _, e := range entries {
		if strings.Contains(e.Name(), ".tmp-") {
			t.Errorf("left behind: %s", e.Name())
		}
	}
	if err := s.sync(ctx); err != nil {
		t.Fatal(err)
	}
	check(second, "v2\n")

	// A fetch that fails keeps the link where it was.
	s.repo = filepath.Join(dir, "gone.git")
	if err := s.sync(ctx); err == nil {
		t.Error("a fetch of a missing repository succeeded")
	}
	check(second, "v2\n")
}
