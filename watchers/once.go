package watchers

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"proclet.dev/proclet/apis/v1alpha1"
)

// ReadOnce reads root once, as the daemon's first scan does (no last good
// version, duplicate names to the first path), with v1alpha1.DecodeFile. The
// error is set when the directory is unavailable; problems in files are in
// the snapshot's Files. The apps carry their content (the files they read,
// taken as they are now, without a quiet window). For `proclet diff`.
func ReadOnce(root string) (v1alpha1.Snapshot, error) {
	abs, err := filepath.Abs(root)
	if err != nil {
		return v1alpha1.Snapshot{}, fmt.Errorf("manifests directory %s: %w", root, err)
	}
	now := time.Now()
	s := newReader(abs, v1alpha1.DecodeFile).read(context.Background(), now)
	if s.err != nil {
		return s.snap, s.err
	}
	return newContents(time.Nanosecond).resolve(s.snap, now.Add(time.Hour)).snap, nil
}

// ManifestFiles lists the manifest files under root that a scan reads, as
// slash-separated paths relative to root, sorted, after the ignore rules
// (hidden names, editor leftovers, other extensions). A name like a
// manifest that is not a regular file after following links (a broken
// link, a link loop, a FIFO, a device) is listed: reading it fails, and
// ReadManifest never opens a FIFO. For `proclet validate`, which reads
// each with ReadManifest and decodes it itself.
func ManifestFiles(root string) ([]string, error) {
	abs, err := filepath.Abs(root)
	if err != nil {
		return nil, fmt.Errorf("manifests directory %s: %w", root, err)
	}
	for attempt := 1; ; attempt++ {
		l, err := list(abs, os.ReadDir, nil)
		if changed := linksChanged(l.links); changed != nil && err == nil {
			err = &tornError{changed}
		}
		var torn *tornError
		if errors.As(err, &torn) && attempt < maxAttempts {
			continue
		}
		if err != nil {
			return nil, err
		}
		out := make([]string, len(l.files))
		for i, e := range l.files {
			out[i] = e.rel
		}
		return out, nil
	}
}
