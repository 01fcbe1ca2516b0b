package watchers

import (
	"errors"
	"fmt"

	"proclet.dev/proclet/internal/boundedfile"
)

// MaxManifestSize is the largest manifest file read (1 MiB); a larger one is
// an error and is never read whole.
const MaxManifestSize = 1 << 20

// Errors of ReadManifest.
var (
	// ErrNotRegular: the path is not a regular file after following links
	// (a FIFO, socket, device or folder). Such entries are not manifests.
	ErrNotRegular = boundedfile.ErrNotRegular
	// ErrTooLarge: the file is larger than MaxManifestSize.
	ErrTooLarge = errors.New("file is larger than 1 MiB")
)

// ReadManifest reads one manifest file the way the watcher does: only a
// regular file (checked before opening, so a FIFO is never opened, and again
// on the open file), at most MaxManifestSize bytes (boundedfile.Read). For
// `proclet validate` too.
func ReadManifest(path string) ([]byte, error) {
	data, err := boundedfile.Read(path, MaxManifestSize)
	if tl := (*boundedfile.TooLargeError)(nil); errors.As(err, &tl) {
		if tl.Size < 0 {
			return nil, fmt.Errorf("read %s: %w (it grew while read)", path, ErrTooLarge)
		}
		return nil, fmt.Errorf("read %s: %w (%d bytes)", path, ErrTooLarge, tl.Size)
	}
	return data, err
}
