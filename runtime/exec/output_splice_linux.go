package exec

// This file holds the exactly-once path of an instance's output: bytes
// leave the FIFO only by moving into the log file, in the kernel, so a
// daemon killed at any instant (kill -9, OOM) has lost nothing it read and
// the next daemon, adopting the instance, reads on from the first byte not
// yet in the log. A reader that copied through user memory would lose what
// it held when killed.
//
// Each round peeks at the FIFO with tee(2) (which copies its head into a
// scratch pipe without consuming it), reads the copy to find the line
// boundaries, and moves exactly those bytes from the FIFO into the log
// with splice(2), rotating between lines as logFile.Write does. What it
// peeked is always all written in the round (the tail of a line too, as a
// piece that the next round continues in the same file), so a FIFO holding
// half a line is not peeked at in a loop.

import (
	"errors"
	"fmt"
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// readSpliced is the reader goroutine's loop when its file is a FIFO and
// tee(2) works on it; it reports false, having read nothing, otherwise (the
// caller then copies through memory). It ends as read does: at EOF, on a
// cancel (without ending the line on Detach: the next daemon continues
// it), or on a read error.
func (e *Runtime) readSpliced(r *reader) bool {
	rc, src, ok := fifoFD(r.f)
	if !ok {
		return false
	}
	var scratch [2]int
	if err := unix.Pipe2(scratch[:], unix.O_CLOEXEC); err != nil {
		return false
	}
	defer unix.Close(scratch[0])
	defer unix.Close(scratch[1])
	// Probe tee(2) once on what is there (EAGAIN: nothing yet, but it is
	// supported); EINVAL means no splicing here.
	if _, err := unix.Tee(src, scratch[1], 0, unix.SPLICE_F_NONBLOCK); errors.Is(err, unix.EINVAL) || errors.Is(err, unix.ENOSYS) {
		return false
	}
	for {
		n, err := peek(rc, scratch[1])
		if err == nil && n > 0 {
			buf := readBufs.Get().(*[readBufSize]byte)
			if err = readFull(scratch[0], buf[:n]); err == nil {
				r.out.writeFrom(src, buf[:n])
			}
			readBufs.Put(buf)
			if err == nil {
				continue
			}
		}
		switch {
		case err == nil: // n == 0: no writer left, EOF
		case errors.Is(err, os.ErrDeadlineExceeded):
			if e.isDetached() {
				return true
			}
		default:
			e.log.Error("reading instance output", "file", r.fifo, "err", err)
		}
		r.out.EndLine()
		return true
	}
}

// fifoFD returns f's raw connection and fd when f is a FIFO, the only
// kind the splice path reads.
func fifoFD(f *os.File) (syscall.RawConn, int, bool) {
	st, err := f.Stat()
	if err != nil || st.Mode()&os.ModeNamedPipe == 0 {
		return nil, -1, false
	}
	return rawFD(f)
}

// rawFD returns f's raw connection and its fd number, valid while f is
// open.
func rawFD(f *os.File) (syscall.RawConn, int, bool) {
	rc, err := f.SyscallConn()
	if err != nil {
		return nil, -1, false
	}
	fd := -1
	if rc.Control(func(u uintptr) { fd = int(u) }) != nil || fd < 0 {
		return nil, -1, false
	}
	return rc, fd, true
}

// peek copies the head of the FIFO (up to readBufSize) into the scratch
// pipe, waiting through Go's poller (cancellable) while it is empty. 0
// bytes: no writer is left.
func peek(rc syscall.RawConn, scratch int) (int, error) {
	var n int64
	var terr error
	err := rc.Read(func(fd uintptr) bool {
		for {
			n, terr = unix.Tee(int(fd), scratch, readBufSize, unix.SPLICE_F_NONBLOCK)
			if !errors.Is(terr, unix.EINTR) {
				return !errors.Is(terr, unix.EAGAIN)
			}
		}
	})
	if err != nil {
		return 0, err
	}
	if terr != nil {
		return 0, fmt.Errorf("tee: %w", terr)
	}
	return int(n), nil
}

// readFull reads exactly len(p) bytes, which the pipe fd holds.
func readFull(fd int, p []byte) error {
	for len(p) > 0 {
		n, err := unix.Read(fd, p)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return fmt.Errorf("read scratch pipe: %w", err)
		}
		if n == 0 {
			return errors.New("read scratch pipe: short")
		}
		p = p[n:]
	}
	return nil
}

// writeFrom moves the next len(p) bytes of the pipe src, which are p, into
// the log, as Write would write p: rotating between lines, cutting a line
// too long, and on an error logging once and dropping them (they are
// taken from src all the same, so the instance never blocks on the
// daemon's disk).
func (l *logFile) writeFrom(src int, p []byte) {
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
func (l *logFile) spliceLocked(src int, seg []byte) (moved int, err error) {
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
