package watchers

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"syscall"
	"time"

	"proclet.dev/proclet/apis/v1alpha1"
)

// maxAttempts bounds the reads of one scan that raced a change; retryWait
// is the pause before the second one, doubled after each.
const (
	maxAttempts = 5
	retryWait   = 5 * time.Millisecond
)

// reader reads the manifests directory into snapshots. It keeps the state
// of the last snapshot emitted (last good per file, name owners); only the
// goroutine that owns it uses it.
type reader struct {
	root     string // absolute, as the user gave it
	decode   func(path string, data []byte) ([]v1alpha1.App, error)
	readDir  func(string) ([]os.DirEntry, error)
	readFile func(string) ([]byte, error) // ReadManifest
	now      func() time.Time
	state    state
	// decoded caches the outcome of reading and decoding each file: a file
	// whose stat is unchanged since it was read (fileStat, and not changed
	// within racyWindow of the read) is not read again, and one whose
	// content hash is unchanged is not decoded again, so a resync or an
	// edit beside a thousand manifests costs a stat per file. Entries of
	// files not seen in the last scan go.
	decoded map[string]decodedFile
	reads   int // scans so far: every fullReadEvery-th reads every file
	// hold reports whether a file (its real path) is open for writing: its
	// last complete content is used instead (writes). Nil: none is.
	hold  func(real string) bool
	reals map[string]bool // the real paths of the files of the last scan

	// What the last emitted snapshot was made of (commit).
	last struct {
		files []fileRead
		snap  v1alpha1.Snapshot
	}
}

// decodedFile is one file's read and decode outcome, for one content hash.
type decodedFile struct {
	hash   string
	empty  bool
	apps   []v1alpha1.App
	errs   v1alpha1.ErrorList
	stat   fileStat  // the file as stat'ed before it was read
	readAt time.Time // when
}

// racyWindow: a file changed (ctime) less than this before it was read is
// read again at every scan, as git treats a "racily clean" index entry: a
// write in the same timestamp tick as the read, after it, would leave the
// stat unchanged. Two seconds covers coarse filesystem clocks.
const racyWindow = 2 * time.Second

// fullReadEvery: every so many scans read every file whatever its stat
// says (a change a stat cannot see: a clock-skewed network filesystem).
const fullReadEvery = 16

func newReader(root string, decode func(string, []byte) ([]v1alpha1.App, error)) *reader {
	return &reader{root: root, decode: decode, readDir: os.ReadDir, readFile: ReadManifest, now: time.Now}
}

// scan is the outcome of reading the directory once.
type scan struct {
	snap   v1alpha1.Snapshot
	files  []fileRead        // what snap was assembled from
	next   state             // to commit if snap is emitted
	hashes map[string]string // path -> content hash, for logging an error once
	watch  watchSet
	err    error // the source is unavailable; snap is empty
}

// read reads the whole directory. A read that raced a change (a vanished
// file or folder, a swapped link) is retried from the start, a few times,
// then reported as unavailable: a torn read is never applied, and an ENOENT
// mid-read never turns into deletions.
func (r *reader) read(ctx context.Context, now time.Time) scan {
	wait := retryWait
	for attempt := 1; ; attempt++ {
		s, err := r.attempt(now)
		var torn *tornError
		if !errors.As(err, &torn) {
			s.err = err
			return s
		}
		if attempt == maxAttempts {
			s.err = fmt.Errorf("manifests directory %s kept changing while being read: %w", r.root, err)
			return s
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			s.err = ctx.Err()
			return s
		case <-t.C:
		}
		wait *= 2
	}
}

func (r *reader) attempt(now time.Time) (scan, error) {
	l, err := list(r.root, r.readDir, r.state.dirLinks)
	s := scan{watch: l.watch}
	var files []fileRead
	if err == nil {
		files, s.hashes, err = r.readFiles(l.files)
	}
	// Whatever happened, a link that moved meanwhile means the read may mix
	// two trees (or failed because of the swap): read again.
	if changed := linksChanged(l.links); changed != nil {
		return s, &tornError{changed}
	}
	if err != nil {
		return s, err
	}
	if r.reassembles(files, l.revision) {
		// The files of the last snapshot, as they were: assembling them
		// again from the state they made gives that state and snapshot
		// (commit keeps the snapshot's slices), so a resync beside
		// thousands of apps costs a stat per file and nothing more.
		next := r.state
		next.dirLinks = l.dirLinks
		s.snap = r.last.snap
		s.snap.ReadAt = now
		s.files, s.next = files, next
		return s, nil
	}
	apps, statuses, next, ok := reassemble(files, r.state, r.dir)
	if !ok {
		apps, statuses, next = assemble(files, r.state, r.dir)
	}
	next.dirLinks = l.dirLinks
	s.snap = v1alpha1.Snapshot{Apps: apps, Files: statuses, SourceRevision: l.revision, ReadAt: now}
	s.files, s.next = files, next
	return s, nil
}

func (r *reader) readFiles(entries []entry) ([]fileRead, map[string]string, error) {
	files := make([]fileRead, 0, len(entries))
	hashes := make(map[string]string, len(entries))
	decoded := make(map[string]decodedFile, len(entries))
	reals := make(map[string]bool, len(entries))
	r.reads++
	full := r.reads%fullReadEvery == 0
	for _, e := range entries {
		f := fileRead{path: e.rel}
		if e.err != nil {
			f.errs = unreadable(e.rel, e.err) // a broken link, a link loop, a FIFO...
			files = append(files, f)
			continue
		}
		reals[e.real] = true
		d, ok, err := r.readOne(e, full)
		if err != nil {
			return nil, nil, err
		}
		if !ok {
			// A file being written, never read whole: a new one is not
			// there yet; one that replaced a file with apps (rm, then
			// cat >) keeps them, as a file that fails does.
			if len(r.state.good[e.rel]) > 0 {
				f.errs = v1alpha1.ErrorList{{File: e.rel, Reason: v1alpha1.ReasonInvalid,
					Message: "file is being written (not closed yet); keeping its last good version"}}
				files = append(files, f)
			}
			continue
		}
		if d.hash != "" {
			decoded[e.rel], hashes[e.rel] = d, d.hash
		}
		f.hash, f.empty, f.apps, f.errs = d.hash, d.empty, d.apps, d.errs
		files = append(files, f)
	}
	r.decoded, r.reals = decoded, reals
	return files, hashes, nil
}

// readOne reads and decodes one file, or takes its cached outcome: when
// its stat is unchanged, and while it is being written (hold, checked
// before and after the read: the content read is used only if no write
// was seen during the read). ok is false for a file being written that was
// never read before. A decodedFile without a hash is an unreadable file.
func (r *reader) readOne(e entry, full bool) (d decodedFile, ok bool, err error) {
	prev, had := r.decoded[e.rel]
	readAt := r.now()
	st, stErr := statFile(e.real)
	if had && !full && stErr == nil && prev.unchanged(st) {
		return prev, true, nil
	}
	if r.held(e.real) {
		return prev, had, nil
	}
	data, err := r.readFile(e.real)
	switch {
	case errors.Is(err, ErrNotRegular), errors.Is(err, fs.ErrNotExist):
		// Gone, or swapped for a FIFO, a device or a folder since the
		// walk: read again (the walk then reports what it is now).
		// Skipping it would drop the apps it last defined.
		return d, false, &tornError{fmt.Errorf("read %s: %w", e.rel, err)}
	case errors.Is(err, ErrTooLarge):
		return decodedFile{errs: unreadable(e.rel, ErrTooLarge)}, true, nil
	case err != nil:
		return decodedFile{errs: unreadable(e.rel, err)}, true, nil
	}
	if r.held(e.real) { // written to while being read: the read may hold a part
		return prev, had, nil
	}
	sum := sha256.Sum256(data)
	hash := hex.EncodeToString(sum[:])
	d = prev
	if !had || prev.hash != hash {
		d = decodedFile{hash: hash, empty: len(data) == 0}
		if apps, err := r.decode(e.rel, data); err != nil {
			d.errs = asErrorList(e.rel, err)
		} else {
			d.apps = apps
		}
	}
	d.stat, d.readAt = fileStat{}, readAt
	if stErr == nil {
		d.stat = st
	}
	return d, true, nil
}

// held reports whether the file at real is being written (reader.hold).
func (r *reader) held(real string) bool { return r.hold != nil && r.hold(real) }

// unchanged reports whether a file whose stat is now st still holds what
// was read into d: the same stat, last changed well before the read.
func (d decodedFile) unchanged(st fileStat) bool {
	return d.stat != (fileStat{}) && d.stat == st && st.ctime < d.readAt.Add(-racyWindow).UnixNano()
}

// fileStat is what tells that a file changed without reading it: a
// rename-over changes the inode, a write the size or the times (ctime
// cannot be set back by anyone).
type fileStat struct {
	dev, ino     uint64
	size         int64
	mtime, ctime int64 // ns
}

// statFile stats path, following links.
func statFile(path string) (fileStat, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return fileStat{}, err
	}
	sys, ok := fi.Sys().(*syscall.Stat_t)
	if !ok || !fi.Mode().IsRegular() {
		return fileStat{}, ErrNotRegular
	}
	mtime, ctime := statTimes(sys)
	return fileStat{dev: uint64(sys.Dev), ino: sys.Ino, size: fi.Size(), mtime: mtime, ctime: ctime}, nil
}

func unreadable(rel string, err error) v1alpha1.ErrorList {
	return v1alpha1.ErrorList{{File: rel, Reason: v1alpha1.ReasonUnreadable, Message: err.Error()}}
}

// dir is a SourcedApp's Dir: the file's folder under the root as the user
// gave it, not as resolved, so a working directory defaulted from it
// follows a git-sync swap instead of pinning (and hashing) one commit.
func (r *reader) dir(rel string) string {
	return filepath.Join(r.root, filepath.FromSlash(path.Dir(rel)))
}

// commit makes a scan's state the one the next scan starts from, and
// returns the snapshot to emit. When it holds what the last one emitted
// held, it is the last one, its very Apps and Files slices, with the new
// ReadAt: the sink tells an unchanged snapshot by identity (Sink.Replace).
// reassemble tells it: it gives the last assembly again when every file
// contributes the same apps with the same problem.
func (r *reader) commit(s scan) v1alpha1.Snapshot {
	prev := r.state
	r.state = s.next
	last := &r.last
	if last.snap.ReadAt != (time.Time{}) && s.snap.SourceRevision == last.snap.SourceRevision &&
		sameFiles(s.files, last.files) && s.next.asm == prev.asm {
		snap := last.snap
		snap.ReadAt = s.snap.ReadAt
		last.files, last.snap = s.files, snap
		return snap
	}
	last.files, last.snap = s.files, s.snap
	return s.snap
}

// reassembles reports whether files at revision are the files the last
// snapshot was assembled from, none failing or empty (where a file's last
// good version stands in, assemble runs again).
func (r *reader) reassembles(files []fileRead, revision string) bool {
	if r.last.snap.ReadAt == (time.Time{}) || revision != r.last.snap.SourceRevision || !sameFiles(files, r.last.files) {
		return false
	}
	for i := range files {
		if len(files[i].errs) > 0 || files[i].empty {
			return false
		}
	}
	return true
}

// sameSlice reports whether a and b are the same slice: same length and,
// unless empty, same first element.
func sameSlice[T any](a, b []T) bool {
	return len(a) == len(b) && (len(a) == 0 || &a[0] == &b[0])
}

// sameFiles reports whether two scans read the same: the same paths and
// hashes, the same decoded apps (the decode cache's slices: identity), the
// same errors.
func sameFiles(a, b []fileRead) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		x, y := &a[i], &b[i]
		if x.path != y.path || x.hash != y.hash || x.empty != y.empty || !sameSlice(x.apps, y.apps) ||
			len(x.errs) != len(y.errs) {
			return false
		}
		for j := range x.errs {
			if *x.errs[j] != *y.errs[j] {
				return false
			}
		}
	}
	return true
}
