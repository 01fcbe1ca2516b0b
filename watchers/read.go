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
	root    string // absolute, as the user gave it
	decode  func(path string, data []byte) ([]v1alpha1.App, error)
	readDir func(string) ([]os.DirEntry, error)
	state   state
	// decoded caches the outcome of decoding each file by its content
	// hash: a scan re-reads every file (cheap) but decodes only those
	// that changed, so one edit beside a thousand manifests is applied in
	// milliseconds. Entries of files not seen in the last scan go.
	decoded map[string]decodedFile
}

// decodedFile is one file's decode outcome, for one content hash.
type decodedFile struct {
	hash string
	apps []v1alpha1.App
	errs v1alpha1.ErrorList
}

func newReader(root string, decode func(string, []byte) ([]v1alpha1.App, error)) *reader {
	return &reader{root: root, decode: decode, readDir: os.ReadDir}
}

// scan is the outcome of reading the directory once.
type scan struct {
	snap   v1alpha1.Snapshot
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
	apps, statuses, next := assemble(files, r.state, r.dir)
	next.dirLinks = l.dirLinks
	s.snap = v1alpha1.Snapshot{Apps: apps, Files: statuses, SourceRevision: l.revision, ReadAt: now}
	s.next = next
	return s, nil
}

func (r *reader) readFiles(entries []entry) ([]fileRead, map[string]string, error) {
	files := make([]fileRead, 0, len(entries))
	hashes := make(map[string]string, len(entries))
	decoded := make(map[string]decodedFile, len(entries))
	for _, e := range entries {
		f := fileRead{path: e.rel}
		if e.err != nil {
			f.errs = unreadable(e.rel, e.err) // a broken link, a link loop, a FIFO...
			files = append(files, f)
			continue
		}
		data, err := ReadManifest(e.real)
		switch {
		case errors.Is(err, ErrNotRegular):
			continue // swapped for a FIFO or folder since the walk: not a manifest
		case errors.Is(err, fs.ErrNotExist):
			return nil, nil, &tornError{fmt.Errorf("read %s: %w", e.rel, err)}
		case errors.Is(err, ErrTooLarge):
			f.errs = unreadable(e.rel, ErrTooLarge)
		case err != nil:
			f.errs = unreadable(e.rel, err)
		default:
			sum := sha256.Sum256(data)
			f.hash, f.empty = hex.EncodeToString(sum[:]), len(data) == 0
			hashes[e.rel] = f.hash
			d, ok := r.decoded[e.rel]
			if !ok || d.hash != f.hash {
				d = decodedFile{hash: f.hash}
				if apps, err := r.decode(e.rel, data); err != nil {
					d.errs = asErrorList(e.rel, err)
				} else {
					d.apps = apps
				}
			}
			decoded[e.rel] = d
			f.apps, f.errs = d.apps, d.errs
		}
		files = append(files, f)
	}
	r.decoded = decoded
	return files, hashes, nil
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

// commit makes a scan's state the one the next scan starts from.
func (r *reader) commit(s scan) { r.state = s.next }
