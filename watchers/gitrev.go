package watchers

import (
	"bufio"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// maxGitFile bounds what is read of each of .git's small files (HEAD, a
// ref, commondir, a .git file's gitdir line); packed-refs is read line by
// line up to maxPackedRefs bytes.
const (
	maxGitFile    = 4 << 10
	maxPackedRefs = 1 << 20
)

// gitHead is the commit checked out in the git repository whose work tree
// is root (root/.git a folder, or a file "gitdir: PATH" as a linked
// worktree's), read from HEAD and the refs without running git; "" when
// root has no .git, or HEAD names no commit found in the first
// maxPackedRefs bytes of packed-refs or in a loose ref.
func gitHead(root string) string {
	gitDir := filepath.Join(root, ".git")
	fi, err := os.Stat(gitDir)
	if err != nil {
		return ""
	}
	if !fi.IsDir() {
		line := readSmall(gitDir)
		d, ok := strings.CutPrefix(line, "gitdir: ")
		if !ok {
			return ""
		}
		if !filepath.IsAbs(d) {
			d = filepath.Join(root, d)
		}
		gitDir = d
	}
	head := readSmall(filepath.Join(gitDir, "HEAD"))
	ref, symbolic := strings.CutPrefix(head, "ref: ")
	if !symbolic {
		return commitOrEmpty(head)
	}
	if !strings.HasPrefix(ref, "refs/") || strings.Contains(ref, "..") {
		return ""
	}
	common := gitDir // a linked worktree's refs are in the main repository
	if c := readSmall(filepath.Join(gitDir, "commondir")); c != "" {
		if !filepath.IsAbs(c) {
			c = filepath.Join(gitDir, c)
		}
		common = c
	}
	for _, d := range []string{gitDir, common} {
		if h := commitOrEmpty(readSmall(filepath.Join(d, ref))); h != "" {
			return h
		}
	}
	return packedRef(filepath.Join(common, "packed-refs"), ref)
}

// packedRef looks ref up in a packed-refs file.
func packedRef(path, ref string) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(io.LimitReader(f, maxPackedRefs))
	for sc.Scan() {
		hash, name, ok := strings.Cut(sc.Text(), " ")
		if ok && name == ref {
			return commitOrEmpty(hash)
		}
	}
	return ""
}

// readSmall is the first line of a small file, trimmed; "" on any error.
func readSmall(path string) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	b, _ := io.ReadAll(io.LimitReader(f, maxGitFile))
	line, _, _ := strings.Cut(string(b), "\n")
	return strings.TrimSpace(line)
}

// commitOrEmpty is s when it is a full commit hash (40 or 64 lower-case
// hex digits: SHA-1 or SHA-256), else "".
func commitOrEmpty(s string) string {
	if !looksLikeCommit(s) || (len(s) != 40 && len(s) != 64) {
		return ""
	}
	return s
}

// looksLikeCommit reports whether s is 7 to 64 lower-case hex digits: a
// commit hash, full or abbreviated.
func looksLikeCommit(s string) bool {
	if len(s) < 7 || len(s) > 64 {
		return false
	}
	for _, c := range s {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}
