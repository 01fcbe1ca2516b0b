package main

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
)

// syncer follows ref of repo into root.
type syncer struct {
	repo, ref, root, link string
	depth                 int
	log                   *slog.Logger
}

// worktrees is the folder of the checkouts under root, as git-sync names it.
const worktrees = ".worktrees"

// sync fetches ref and, when it points at a new commit, checks it out and
// swaps the link to it, then removes the previous worktree.
func (s *syncer) sync(ctx context.Context) error {
	if err := s.initRepo(ctx); err != nil {
		return err
	}
	args := []string{"fetch", "--no-tags", "--force"}
	if s.depth > 0 {
		args = append(args, "--depth", strconv.Itoa(s.depth))
	}
	if _, err := s.git(ctx, append(args, s.repo, s.ref)...); err != nil {
		return err
	}
	hash, err := s.git(ctx, "rev-parse", "FETCH_HEAD^{commit}")
	if err != nil {
		return err
	}
	linkPath := filepath.Join(s.root, s.link)
	old, _ := os.Readlink(linkPath)
	want := filepath.Join(worktrees, hash)
	if old == want && isDir(filepath.Join(s.root, want)) {
		return nil
	}
	dir := filepath.Join(s.root, want)
	if !isDir(dir) {
		_, _ = s.git(ctx, "worktree", "prune")
		if _, err := s.git(ctx, "worktree", "add", "--force", "--detach", dir, hash); err != nil {
			return err
		}
	}
	if err := swapLink(linkPath, want); err != nil {
		return err
	}
	s.log.Info("synced", "ref", s.ref, "commit", hash, "link", linkPath)
	s.removeOthers(ctx, hash)
	return nil
}

// removeOthers removes every worktree but keep's: the previous one, and
// any a killed syncer left behind.
func (s *syncer) removeOthers(ctx context.Context, keep string) {
	entries, _ := os.ReadDir(filepath.Join(s.root, worktrees))
	for _, e := range entries {
		if e.Name() == keep {
			continue
		}
		dir := filepath.Join(s.root, worktrees, e.Name())
		if _, err := s.git(ctx, "worktree", "remove", "--force", dir); err != nil {
			s.log.Warn("removing an old worktree", "dir", dir, "err", err)
			_ = os.RemoveAll(dir)
		}
	}
	if len(entries) > 1 {
		_, _ = s.git(ctx, "worktree", "prune")
	}
}

// initRepo makes root a git repository once.
func (s *syncer) initRepo(ctx context.Context) error {
	if isDir(filepath.Join(s.root, ".git")) {
		return nil
	}
	if err := os.MkdirAll(s.root, 0o755); err != nil {
		return err
	}
	_, err := s.git(ctx, "init", "--quiet")
	return err
}

// swapLink points link at target atomically: a new symlink under a
// temporary name, renamed over link.
func swapLink(link, target string) error {
	tmp := link + ".tmp-" + strconv.Itoa(os.Getpid())
	_ = os.Remove(tmp)
	if err := os.Symlink(target, tmp); err != nil {
		return err
	}
	if err := os.Rename(tmp, link); err != nil {
		os.Remove(tmp)
		return err
	}
	return nil
}

// git runs git in root and returns its trimmed output.
func (s *syncer) git(ctx context.Context, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, "git", append([]string{"-C", s.root}, args...)...)
	cmd.Env = append(os.Environ(), "GIT_TERMINAL_PROMPT=0", "LC_ALL=C")
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("git %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(errOut.String()))
	}
	return strings.TrimSpace(out.String()), nil
}

func isDir(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.IsDir()
}
