package logfile

import (
	"errors"

	"golang.org/x/sys/unix"
)

// WriteFrom moves the next len(p) bytes of the pipe src, which are p, into
// the log, as Write would write p: rotating between lines, cutting a line
// too long, and on an error logging once and dropping them (they are
// taken from src all the same, so the instance never blocks on the
// daemon's disk).
func (l *File) WriteFrom(src int, p []byte) {
	if len(p) == 0 {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	rest, err := l.emitLocked(p, func(seg []byte) (int, error) { return l.spliceLocked(src, seg) })
	if err != nil {
		discard(src, rest)
	}
	l.noteLocked(err)
}

// spliceLocked moves the next len(seg) bytes of src, which are seg, to the
// end of the file with splice(2): at an explicit offset, so there is no
// O_APPEND (which splice refuses) nor a seek to make. The daemon is the
// file's only writer (one daemon per state dir, one logFile per path), so
// writing at its size is appending. On an error, what was not moved is
// discarded from src.
func (l *File) spliceLocked(src int, seg []byte) (moved int, err error) {
	defer func() {
		if err != nil {
			discard(src, len(seg)-moved)
		}
	}()
	for moved < len(seg) {
		off := l.size + int64(moved)
		n, err := unix.Splice(src, nil, l.fd, &off, len(seg)-moved, unix.SPLICE_F_MOVE)
		switch {
		case errors.Is(err, unix.EINTR):
			continue
		case errors.Is(err, unix.EINVAL):
			// This file system cannot splice: write the copy, then
			// take the bytes out of src.
			w, err := l.f.WriteAt(seg[moved:], l.size+int64(moved))
			discard(src, w)
			return moved + w, err
		case err != nil:
			return moved, err
		case n == 0:
			return moved, errors.New("splice moved nothing")
		}
		moved += int(n)
	}
	return moved, nil
}

// discard takes n bytes, which the pipe src holds, out of it.
func discard(src, n int) {
	var buf [4096]byte
	for n > 0 {
		k, err := unix.Read(src, buf[:min(n, len(buf))])
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil || k <= 0 {
			return
		}
		n -= k
	}
}
