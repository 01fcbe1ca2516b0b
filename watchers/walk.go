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

	"proclet.dev/proclet/internal/boundedfile"
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
	if l.revision == "" {
		l.revision = gitHead(real) // a clone rather than git-sync's links
	}
	w := walker{l: l, readDir: readDir, prevDirLinks: prevDirLinks, visited: map[string]bool{}}
	if err := w.dir(real, ""); err != nil {
		if errors.Is(err, errWalkBound) {
			err = fmt.Errorf("manifests directory %s: %w", root, err)
		}
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

// Bounds of a walk, whatever the tree: a folder link to /usr or / must not
// cost thousands of inotify watches (each is kernel memory, and
// fs.inotify.max_user_watches is shared by the user's processes) and a
// walk of the whole disk at every scan. A tree over either bound is not
// read: the source is unavailable with an error naming the folder link
// that led there, and the apps keep running.
const (
	// maxWatchedFolders bounds the folders a scan watches (1000): a
	// thousand manifests in a few dozen folders is far below it.
	maxWatchedFolders = 1000
	// maxFolderDepth bounds how deep under the root a folder is read.
	maxFolderDepth = 16
)

// walker walks one tree; each real folder is read once, under the first
// path that reaches it (sorted order), which also stops folder link loops.
type walker struct {
	l            *listing
	readDir      func(string) ([]os.DirEntry, error)
	prevDirLinks map[string]bool
	visited      map[string]bool

	// via is the outermost folder link being walked through ("rel ->
	// target"), for the error of a bound; added lists the folders it
	// added to the watch set, which are not watched when a bound is hit.
	via   string
	added []string
}

func (w *walker) dir(real, rel string) error {
	if w.visited[real] {
		return nil
	}
	if err := w.bounds(rel); err != nil {
		return err
	}
	w.visited[real] = true
	if _, ok := w.l.watch[real]; !ok && w.via != "" {
		w.added = append(w.added, real)
	}
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
	return fmt.Errorf("%w: it is %s; not read", ErrNotRegular, boundedfile.Kind(m))
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
		if w.via != "" {
			return w.dir(real, rel)
		}
		w.via, w.added = rel+" -> "+real, w.added[:0]
		err := w.dir(real, rel)
		if errors.Is(err, errWalkBound) {
			for _, d := range w.added { // a link to /usr: not thousands of watches
				delete(w.l.watch, d)
			}
		}
		w.via = ""
		return err
	case fi.Mode().IsRegular() && manifestExt(name):
		w.l.watch.name(filepath.Dir(real), filepath.Base(real))
		w.l.files = append(w.l.files, entry{rel: rel, real: real})
	case manifestExt(name):
		w.l.files = append(w.l.files, entry{rel: rel, err: notRegular(fi.Mode())})
	}
	return nil
}

// errWalkBound marks an error of a walk bound (maxWatchedFolders,
// maxFolderDepth).
var errWalkBound = errors.New("too large to watch")

// bounds refuses to read the folder rel when the walk would pass a bound.
func (w *walker) bounds(rel string) error {
	via := ""
	if w.via != "" {
		via = " (through the folder link " + w.via + ")"
	}
	if depth := strings.Count(rel, "/") + 1; rel != "" && depth > maxFolderDepth {
		return fmt.Errorf("%w: folder %s is more than %d levels deep%s; not read", errWalkBound, rel, maxFolderDepth, via)
	}
	if len(w.l.watch) >= maxWatchedFolders {
		return fmt.Errorf("%w: more than %d folders to watch, at %s%s; not read", errWalkBound, maxWatchedFolders, shown(rel), via)
	}
	return nil
}

func shown(rel string) string {
	if rel == "" {
		return "."
	}
	return rel
}
