// Package boundedfile reads the files the daemon trusts (its state files,
// the API key file, manifests) with a bound on their size, so that a file
// replaced by a link to /dev/zero, a FIFO or a 4 GiB sparse file is an
// error naming it, never a daemon that hangs or runs out of memory.
package boundedfile

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"syscall"
	"time"
)

// Errors of Read, for errors.Is.
var (
	// ErrNotRegular: the path is not a regular file after following links
	// (a FIFO, socket, device or folder).
	ErrNotRegular = errors.New("not a regular file")
	// ErrTooLarge: the file is larger than the bound it was read with.
	ErrTooLarge = errors.New("larger than its bound")
)

// TooLargeError says how large a refused file was. It is ErrTooLarge.
type TooLargeError struct {
	Size  int64 // its size when stat'ed; -1: it grew past the bound while read
	Limit int64
}

func (e *TooLargeError) Error() string {
	if e.Size < 0 {
		return fmt.Sprintf("more than the %s bound (it grew while read)", Bytes(e.Limit))
	}
	return fmt.Sprintf("%d bytes, more than the %s bound", e.Size, Bytes(e.Limit))
}

// Is makes errors.Is(err, ErrTooLarge) true.
func (e *TooLargeError) Is(target error) bool { return target == ErrTooLarge }

// Read reads the regular file at path, following links, and at most limit
// bytes of it. What is not a regular file is refused before it is opened
// (a FIFO would block the open, a device never ends), and again on the open
// file (a swap in between); a file larger than limit is refused from its
// size, and one that grows past limit while read (or a file that lies
// about its size) when limit+1 bytes came. Every error names path.
func Read(path string, limit int64) ([]byte, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if err := check(fi, limit); err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	// O_NONBLOCK: a FIFO swapped in since the Stat must not wait for a
	// writer. It changes nothing for a regular file.
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if fi, err = f.Stat(); err != nil {
		return nil, err
	}
	if err := check(fi, limit); err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("read %s: %w", path, &TooLargeError{Size: -1, Limit: limit})
	}
	return data, nil
}

// check refuses what is not a regular file of at most limit bytes.
func check(fi fs.FileInfo, limit int64) error {
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("%w: it is %s", ErrNotRegular, Kind(fi.Mode()))
	}
	if fi.Size() > limit {
		return &TooLargeError{Size: fi.Size(), Limit: limit}
	}
	return nil
}

// Kind says what a file of mode m is, for an error: "a named pipe (FIFO)".
func Kind(m fs.FileMode) string {
	switch {
	case m.IsRegular():
		return "a regular file"
	case m.IsDir():
		return "a folder"
	case m&fs.ModeSymlink != 0:
		return "a symbolic link"
	case m&fs.ModeNamedPipe != 0:
		return "a named pipe (FIFO)"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeCharDevice != 0:
		return "a character device"
	case m&fs.ModeDevice != 0:
		return "a block device"
	}
	return "not a regular file"
}

// Bytes formats a bound for people: "64 MiB", "1 MiB", "512 KiB".
func Bytes(n int64) string {
	switch {
	case n >= 1<<30 && n%(1<<30) == 0:
		return fmt.Sprintf("%d GiB", n>>30)
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}

// MoveAside renames the unreadable file at path (whatever it is: a file, a
// link, a FIFO, a folder) to path.bad-<UTC time>, so that the daemon can
// write a good one in its place while the bad one stays for a post-mortem.
// It returns the new name; one taken already (two in the same second)
// gets a suffix, .bad-<time>-2 and so on.
func MoveAside(path string, now time.Time) (string, error) {
	base := path + ".bad-" + now.UTC().Format("20060102T150405Z")
	aside := base
	for i := 2; ; i++ {
		if _, err := os.Lstat(aside); errors.Is(err, fs.ErrNotExist) {
			break
		}
		if i > 100 {
			return "", fmt.Errorf("move %s aside: %s and 99 more names are taken", path, base)
		}
		aside = fmt.Sprintf("%s-%d", base, i)
	}
	if err := os.Rename(path, aside); err != nil {
		return "", fmt.Errorf("move %s aside: %w", path, err)
	}
	return aside, nil
}
