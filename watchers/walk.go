package watchers

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
)

// listing is what one walk of the manifests directory found.
type listing struct {
	root     string          // the resolved root everything was read through
	revision string          // see revision
	files    []entry         // manifest files, sorted by rel
	links    []link          // every link followed, to re-check after reading
	dirLinks map[string]bool // rel paths of symbolic links to folders
	watch    watchSet        // the folders whose events matter
}

// entry is one manifest file found by a walk.
type entry struct {
	rel  string // slash-separated path relative to the root, as read through it
	real string // resolved path; "" when err is set
	err  error  // why it is not read: a broken link, a link loop, a FIFO or device
}

// tornError marks a read that raced a change (a folder or file vanished
// mid-read, a link was swapped): the scan is retried, never applied.
type tornError struct{ err error }

func (e *tornError) Error() string { return e.err.Error() }
func (e *tornError) Unwrap() error { return e.err }

// list walks the tree under root (absolute, as the user gave it). The root
// is resolved once, and everything is read through the resolved path, so a
// swap of a link on the root's path during the walk cannot mix two trees.
// prevDirLinks are the folder links of the last snapshot: one that no longer
// resolves makes the source unavailable rather than emptying the folder.
// The listing (its watch set at least) is returned even with an error.
func list(root string, readDir func(string) ([]os.DirEntry, error), prevDirLinks map[string]bool) (*listing, error) {
	l := &listing{dirLinks: map[string]bool{}, watch: watchSet{}}
	real, fi, err := resolve(root, &l.links)
	// Watch each link's folder for the link's name (a swap renames over
	// it), and the folder holding the root, so a missing root is seen
	// coming back.
	l.watchLinks(0)
	if err != nil {
		l.watchFailure(err)
		return l, fmt.Errorf("manifests directory %s: %w", root, err)
	}
	l.watch.name(filepath.Dir(real), filepath.Base(real))
	if !fi.IsDir() {
		return l, fmt.Errorf("manifests directory %s: %w", root, syscall.ENOTDIR)
	}
	l.root, l.revision = real, revision(l.links)
	w := walker{l: l, readDir: readDir, prevDirLinks: prevDirLinks, visited: map[string]bool{}}
	if err := w.dir(real, ""); err != nil {
		return l, err
	}
	slices.SortFunc(l.files, func(a, b entry) int { return strings.Compare(a.rel, b.rel) })
	return l, nil
}

func (l *listing) watchLinks(from int) {
	for _, k := range l.links[from:] {
		l.watch.name(filepath.Dir(k.path), filepath.Base(k.path))
	}
}

// watchFailure watches for the missing component of a failed resolution.
func (l *listing) watchFailure(err error) {
	var pe *fs.PathError
	if errors.As(err, &pe) && filepath.IsAbs(pe.Path) {
		l.watch.name(filepath.Dir(pe.Path), filepath.Base(pe.Path))
	}
}

// walker walks one tree; each real folder is read once, under the first
// path that reaches it (sorted order), which also stops folder link loops.
type walker struct {
	l            *listing
	readDir      func(string) ([]os.DirEntry, error)
	prevDirLinks map[string]bool
	visited      map[string]bool
}

func (w *walker) dir(real, rel string) error {
	if w.visited[real] {
		return nil
	}
	w.visited[real] = true
	w.l.watch.all(real)
	ents, err := w.readDir(real)
	if err != nil {
		err = fmt.Errorf("read folder %s: %w", shown(rel), err)
		if errors.Is(err, fs.ErrNotExist) {
			return &tornError{err}
		}
		return err
	}
	for _, e := range ents {
		if err := w.entry(real, rel, e); err != nil {
			return err
		}
	}
	return nil
}

func (w *walker) entry(dir, rel string, e fs.DirEntry) error {
	name := e.Name()
	if ignoredName(name) {
		return nil
	}
	p, r := filepath.Join(dir, name), path.Join(rel, name)
	switch t := e.Type(); {
	case t.IsDir():
		return w.dir(p, r)
	case t.IsRegular():
		if manifestExt(name) {
			w.l.files = append(w.l.files, entry{rel: r, real: p})
		}
	case t&fs.ModeSymlink != 0:
		return w.symlink(p, r, name)
	case manifestExt(name):
		// A FIFO, socket or device is never read (a FIFO would block),
		// but named like a manifest it is reported, not silently
		// skipped: an app it defined keeps its last good version.
		w.l.files = append(w.l.files, entry{rel: r, err: notRegular(t)})
	}
	return nil
}

// notRegular says what a file named like a manifest is instead.
func notRegular(m fs.FileMode) error {
	kind := "not a regular file"
	switch {
	case m&fs.ModeNamedPipe != 0:
		kind = "a named pipe (FIFO)"
	case m&fs.ModeSocket != 0:
		kind = "a socket"
	case m&fs.ModeCharDevice != 0:
		kind = "a character device"
	case m&fs.ModeDevice != 0:
		kind = "a block device"
	}
	return fmt.Errorf("%w: it is %s; not read", ErrNotRegular, kind)
}

func (w *walker) symlink(p, rel, name string) error {
	n := len(w.l.links)
	real, fi, err := resolve(p, &w.l.links)
	w.l.watchLinks(n)
	switch {
	case err == nil:
	case errors.Is(err, syscall.ELOOP) && manifestExt(name):
		w.l.files = append(w.l.files, entry{rel: rel, err: fmt.Errorf("symbolic link loop: %w", syscall.ELOOP)})
		return nil
	case errors.Is(err, syscall.ELOOP):
		return nil // a folder link loop, or not named like a manifest
	case w.prevDirLinks[rel]:
		w.l.watchFailure(err) // to see it come back
		return fmt.Errorf("folder %s: %w", rel, err)
	case manifestExt(name):
		w.l.watchFailure(err)
		w.l.files = append(w.l.files, entry{rel: rel, err: fmt.Errorf("broken symbolic link: %w", err)})
		return nil
	default:
		return nil // dangling, never seen as a folder: not ours
	}
	switch {
	case fi.IsDir():
		w.l.dirLinks[rel] = true
		return w.dir(real, rel)
	case fi.Mode().IsRegular() && manifestExt(name):
		w.l.watch.name(filepath.Dir(real), filepath.Base(real))
		w.l.files = append(w.l.files, entry{rel: rel, real: real})
	case manifestExt(name):
		w.l.files = append(w.l.files, entry{rel: rel, err: notRegular(fi.Mode())})
	}
	return nil
}

func shown(rel string) string {
	if rel == "" {
		return "."
	}
	return rel
}
