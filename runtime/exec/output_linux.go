package exec

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"

	"golang.org/x/sys/unix"
	"proclet.dev/proclet/runtime/logfile"
)

// streams are the output streams of an instance, in fd order.
var streams = [2]string{"stdout", "stderr"}

const (
	// readBufSize bounds a reader's memory and what one read (one round of
	// the splice path) takes: 64 KiB rounds cost a quarter of the syscalls
	// per MiB that 16 KiB ones did. A longer line is written to the log in
	// pieces, and cut at MaxLinePieceCap (runtime/logfile).
	readBufSize = 64 << 10
	// pipeSize is what the FIFO buffer is enlarged to (F_SETPIPE_SZ): the
	// output an instance can write while no daemon reads before it blocks.
	pipeSize = 1 << 20
	// rootPipeSize is tried first when running as root, which may exceed
	// /proc/sys/fs/pipe-max-size.
	rootPipeSize = 4 << 20
)

// readBufs holds the readers' buffers. The splice path takes one only for
// the moment it has output to look at, so an idle instance (most of them,
// most of the time) holds none: a thousand instances cost a few buffers,
// not two each. A buffer declared in the reader's frame would sit on its
// goroutine stack instead and grow every reader's stack to 32–64 KiB for
// good (136 MiB of stacks at 1000 instances, before this).
var readBufs = sync.Pool{New: func() any { return new([readBufSize]byte) }}

// fifoPath is the FIFO of one stream of the instance uid: a new daemon
// reopens it by this path to adopt a running instance's output.
func fifoPath(runDir, uid, stream string) string {
	return filepath.Join(runDir, uid+"."+stream)
}

// fifos are an instance's output FIFOs while it starts.
type fifos struct {
	paths [2]string
	child [2]*os.File // O_RDWR, blocking: become the child's stdout and stderr
	read  [2]*os.File // O_RDONLY|O_NONBLOCK: the daemon's read ends
}

// openFIFOs makes the two FIFOs of uid and opens the daemon's read ends;
// openChildEnds opens the child's. The read end is opened first, with no
// writer yet: nothing reads it before the child holds the other end, and
// a read after the child's exit still gets what it wrote (the reader
// keeps the pipe), then EOF.
func openFIFOs(runDir, uid string) (*fifos, error) {
	o := &fifos{}
	for i, stream := range streams {
		p := fifoPath(runDir, uid, stream)
		o.paths[i] = p
		if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
			o.cleanup()
			return nil, fmt.Errorf("output fifo: %w", err)
		}
		if err := unix.Mkfifo(p, 0o600); err != nil {
			o.cleanup()
			return nil, fmt.Errorf("output fifo %s: %w", p, err)
		}
		f, err := openFIFOReader(p)
		if err != nil {
			o.cleanup()
			return nil, err
		}
		o.read[i] = f
	}
	return o, nil
}

// openChildEnds opens the child's ends of the FIFOs, O_RDWR so that the
// child itself always counts as a reader: its writes never fail with
// EPIPE or raise SIGPIPE when the daemon's reader is gone. They are
// opened in the calling thread's fd table (a forker thread's, see
// forker_linux.go), and closed there once the child has them.
func (o *fifos) openChildEnds() error {
	for i, p := range o.paths {
		w, err := openFIFOWriter(p)
		if err != nil {
			o.closeChildEnds()
			return err
		}
		o.child[i] = w
	}
	return nil
}

// openDevNull opens /dev/null for a child's stdin, in the calling thread's
// fd table and without os.Open (see forker_linux.go).
func openDevNull() (*os.File, error) {
	fd, err := unix.Open(os.DevNull, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", os.DevNull, err)
	}
	return os.NewFile(uintptr(fd), os.DevNull), nil
}

// openFIFOWriter opens p O_RDWR and blocking, for a child's stdout or
// stderr (the instance's, or its preStop hook's). O_RDWR never blocks on
// open and makes the holder a reader too (see openFIFOs).
func openFIFOWriter(p string) (*os.File, error) {
	fd, err := unix.Open(p, unix.O_RDWR|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("output fifo %s: %w", p, err)
	}
	return os.NewFile(uintptr(fd), p), nil
}

// openFIFOReader opens the read end of an instance's FIFO, non-blocking so
// it goes through Go's poller (cancellable with a read deadline), and
// enlarges the pipe buffer. It works as well on the FIFO of an instance
// another daemon started, as long as the instance holds its end.
func openFIFOReader(p string) (*os.File, error) {
	fd, err := unix.Open(p, unix.O_RDONLY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("output fifo %s: %w", p, err)
	}
	// Best effort: without it the buffer stays 64 KiB.
	if os.Geteuid() != 0 || setPipeSize(fd, rootPipeSize) != nil {
		setPipeSize(fd, pipeSize)
	}
	return os.NewFile(uintptr(fd), p), nil
}

func setPipeSize(fd, size int) error {
	_, err := unix.FcntlInt(uintptr(fd), unix.F_SETPIPE_SZ, size)
	return err
}

func (o *fifos) closeChildEnds() {
	for i, f := range o.child {
		if f != nil {
			f.Close()
			o.child[i] = nil
		}
	}
}

func (o *fifos) closeReadEnds() {
	for _, f := range o.read {
		if f != nil {
			f.Close()
		}
	}
}

func (o *fifos) remove() {
	for _, p := range o.paths {
		if p != "" {
			os.Remove(p)
		}
	}
}

func (o *fifos) cleanup() {
	o.closeChildEnds()
	o.closeReadEnds()
	o.remove()
}

// reader copies one output stream of an instance into its log, line by line.
type reader struct {
	f    *os.File // the FIFO's read end; the reader goroutine closes it
	fifo string
	out  *logfile.File
	done chan struct{} // closed when the reader ended
	p    *outputPoller // nil for a reader that never reads (a lost instance's)
	poll pollState     // guarded by p.mu
}

// cancel makes the reader stop at once, keeping what it has read. Safe to
// call at any time, from any goroutine.
func (r *reader) cancel() {
	if r.p == nil {
		r.f.SetReadDeadline(time.Unix(1, 0))
		return
	}
	r.p.cancel(r)
}

// read is the reader goroutine of a stream the loop cannot read
// (output_poll_linux.go). It ends at EOF, when every process holding
// the FIFO's write side has closed it (the instance and whatever inherited
// its output), or when cancelled. It writes what each read brings, up to
// the last newline, in one go (one write(2) for many lines: a chatty
// instance costs a syscall per read, not per line); a line longer than
// the buffer is written in pieces. A line cut short by the end is finished
// with a newline, except on Detach: the next daemon reads the rest of it
// from the FIFO and appends it.
func (e *Runtime) read(r *reader) {
	defer e.wg.Done()
	defer close(r.done)
	defer e.releaseLog(r.out)
	defer r.f.Close()
	if e.readSpliced(r) { // exactly once, even across a kill -9 (output_splice_linux.go)
		return
	}
	b := readBufs.Get().(*[readBufSize]byte) // held throughout: it may hold a partial line
	defer readBufs.Put(b)
	buf := b[:]
	filled := 0
	for {
		n, err := r.f.Read(buf[filled:])
		filled += n
		if i := bytes.LastIndexByte(buf[:filled], '\n'); i >= 0 {
			r.out.Write(buf[:i+1])
			filled = copy(buf, buf[i+1:filled])
		} else if filled == len(buf) {
			r.out.Write(buf) // a piece of a long line
			filled = 0
		}
		if err == nil {
			continue
		}
		r.out.Write(buf[:filled])
		switch {
		case errors.Is(err, io.EOF):
		case errors.Is(err, os.ErrDeadlineExceeded):
			if e.isDetached() {
				return
			}
		default:
			e.log.Error("reading instance output", "file", r.fifo, "err", err)
		}
		r.out.EndLine()
		return
	}
}
