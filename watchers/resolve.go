package watchers

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// link is one symbolic link followed while resolving a path, with the
// target it had then. Reading it again after a scan tells whether the tree
// was swapped meanwhile (a torn read).
type link struct {
	path   string // the link itself; its folder is already resolved
	target string
}

// maxLinks bounds the links followed in one resolution, like the kernel's
// ELOOP limit.
const maxLinks = 40

// resolve returns the real path of the absolute path p and the Lstat of its
// final component, following every symbolic link on the way and appending
// each one to *links. It is filepath.EvalSymlinks that also says which links
// it followed. A failing component is named by the *fs.PathError returned.
func resolve(p string, links *[]link) (string, fs.FileInfo, error) {
	if !filepath.IsAbs(p) {
		return "", nil, fmt.Errorf("resolve %s: path is not absolute", p)
	}
	dst, rest, hops := "/", p, 0
	var fi fs.FileInfo
	for {
		rest = strings.TrimLeft(rest, "/")
		if rest == "" {
			if fi == nil { // p is "/" or climbs back to it
				var err error
				if fi, err = os.Lstat(dst); err != nil {
					return "", nil, err
				}
			}
			return dst, fi, nil
		}
		comp, tail, _ := strings.Cut(rest, "/")
		rest = tail
		switch comp {
		case ".":
			continue
		case "..":
			dst, fi = filepath.Dir(dst), nil
			continue
		}
		next := filepath.Join(dst, comp)
		var err error
		if fi, err = os.Lstat(next); err != nil {
			return "", nil, err
		}
		if fi.Mode()&fs.ModeSymlink == 0 {
			if !fi.IsDir() && strings.TrimLeft(rest, "/") != "" {
				return "", nil, &fs.PathError{Op: "resolve", Path: next, Err: syscall.ENOTDIR}
			}
			dst = next
			continue
		}
		if hops++; hops > maxLinks {
			return "", nil, &fs.PathError{Op: "resolve", Path: p, Err: syscall.ELOOP}
		}
		target, err := os.Readlink(next)
		if err != nil {
			return "", nil, err
		}
		*links = append(*links, link{path: next, target: target})
		if filepath.IsAbs(target) {
			dst = "/"
		}
		rest, fi = target+"/"+rest, nil
	}
}

// revision names the source read through links: the base name of the last
// link target followed (git-sync's worktree is named for its commit), or ""
// when no link was followed.
func revision(links []link) string {
	if len(links) == 0 {
		return ""
	}
	return filepath.Base(filepath.Clean(links[len(links)-1].target))
}

// linksChanged reports the first link that no longer points where it did.
func linksChanged(links []link) error {
	seen := make(map[string]bool, len(links))
	for _, l := range links {
		if seen[l.path] {
			continue
		}
		seen[l.path] = true
		target, err := os.Readlink(l.path)
		if err != nil {
			return fmt.Errorf("link %s changed during the read: %w", l.path, err)
		}
		if target != l.target {
			return fmt.Errorf("link %s changed during the read: %s -> %s", l.path, l.target, target)
		}
	}
	return nil
}
