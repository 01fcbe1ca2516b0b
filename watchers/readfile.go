package watchers

import (
	"errors"
	"fmt"
	"io"
	"os"
	"syscall"
)

// MaxManifestSize is the largest manifest file read (1 MiB); a larger one is
// an error and is never read whole.
const MaxManifestSize = 1 << 20

// Errors of ReadManifest.
var (
	// ErrNotRegular: the path is not a regular file after following links
	// (a FIFO, socket, device or folder). Such entries are not manifests.
	ErrNotRegular = errors.New("not a regular file")
	// ErrTooLarge: the file is larger than MaxManifestSize.
	ErrTooLarge = errors.New("file is larger than 1 MiB")
)

// ReadManifest reads one manifest file the way the watcher does: only a
// regular file (checked before opening, so a FIFO is never opened, and again
// on the open file), at most MaxManifestSize bytes. For `proclet validate`.
func ReadManifest(path string) ([]byte, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("read %s: %w", path, ErrNotRegular)
	}
	if fi.Size() > MaxManifestSize {
		return nil, fmt.Errorf("read %s: %w (%d bytes)", path, ErrTooLarge, fi.Size())
	}
	// O_NONBLOCK: if a FIFO was swapped in since the Stat, opening it must
	// not wait for a writer. It changes nothing for a regular file.
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if fi, err = f.Stat(); err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("read %s: %w", path, ErrNotRegular)
	}
	data, err := io.ReadAll(io.LimitReader(f, MaxManifestSize+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	if len(data) > MaxManifestSize {
		return nil, fmt.Errorf("read %s: %w", path, ErrTooLarge)
	}
	return data, nil
}
