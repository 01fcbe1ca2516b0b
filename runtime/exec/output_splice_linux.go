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
	"bytes"
	"errors"
	"fmt"
	"os"
	"syscall"
	"time"

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
				r.out.WriteFrom(src, buf[:wholeLines(buf[:n], readBufSize)])
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

// wholeLines is how much of a round's peek p, of at most round bytes, to
// write: all of it, unless the peek was a full round with a newline in it, then up to its last
// newline: the rest of that line is in the FIFO already, and the next
// round writes it whole rather than as a P piece and its end (a FIFO that
// held less was drained, and its unfinished line is written as a P piece,
// so a half line is never peeked at in a loop).
func wholeLines(p []byte, round int) int {
	if len(p) < round {
		return len(p)
	}
	if i := bytes.LastIndexByte(p, '\n'); i >= 0 {
		return i + 1
	}
	return len(p)
}

// scratchRound enlarges the scratch pipe to roundSize and says what a
// round can take through it.
func scratchRound(fd int) int {
	setPipeSize(fd, roundSize)
	n, err := unix.FcntlInt(uintptr(fd), unix.F_GETPIPE_SZ, 0)
	if err != nil || n <= 0 {
		return readBufSize // a new pipe's own size
	}
	return min(n, roundSize)
}

// nap sleeps d in a nanosleep(2) rather than on a Go timer: the loop's
// thread stays in a syscall, as it is in epoll_wait and the rounds. With
// time.Sleep every Go thread may park, and the runtime's sysmon, finding
// the process idle, sleeps deeply and then polls every 20 µs again after
// each nap; a parked thread's wake also costs more than a nanosleep's.
// perf under a steady 100 MB/s writer (one run each, a loaded box):
// runtime.sysmon was 14 % of the daemon's CPU with time.Sleep, 10 % with
// this.
func nap(d time.Duration) {
	ts := unix.NsecToTimespec(d.Nanoseconds())
	for {
		var left unix.Timespec
		if err := unix.Nanosleep(&ts, &left); !errors.Is(err, unix.EINTR) {
			return
		}
		ts = left
	}
}
