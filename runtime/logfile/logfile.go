package logfile

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"proclet.dev/proclet/apis/v1alpha1"
)

// Path is where an instance's stream ("stdout" or "stderr") is written:
// <stateDir>/logs/<app>/<instance>.<stream>.log. Rotated files add .1, .2 ...
// (.1 is the newest).
func Path(stateDir, app, instance, stream string) string {
	return filepath.Join(stateDir, "logs", app, instance+"."+stream+".log")
}

// InitPath is where the stream of an instance's init step (named step)
// is written: <stateDir>/logs/<app>/<instance>.init.<step>.<stream>.log,
// rotated as the instance's files (the init runner writes it).
func InitPath(stateDir, app, instance, step, stream string) string {
	return filepath.Join(stateDir, "logs", app, instance+".init."+step+"."+stream+".log")
}

// File appends lines to one log file and rotates it by size. It is
// shared by every handle that writes the same path (an instance restarted
// while its predecessor still drains), so rotation happens in one place.
//
// Invariants: every write ends on a newline of the file and a rotation
// only happens between lines; a line's text is at most piece() bytes: a
// longer one is cut into P pieces (cut.go). So whatever the output looks
// like, a file holds at most maxSize plus one line (a prefix, a piece, a
// newline), and every file is rotated. A write
// error is logged once (until a write succeeds again) and the data is
// dropped: the reader must keep draining so the instance never blocks on a
// full disk. A File of an OpenFiles (openfiles.go) may have its file closed
// between writes; the next write opens it again.
type File struct {
	path string
	log  *slog.Logger

	// mu guards the fields below and serialises writes and rotation; it is
	// held across file I/O on purpose: it is this file's own write lock.
	mu       sync.Mutex
	maxSize  int64
	maxFiles int
	mode     os.FileMode // of the files, whatever the umask
	f        *os.File    // opened without O_APPEND: written at size (pwrite, splice with an offset)
	fd       int         // f's fd while f is open
	size     int64       // the file's size, where the next byte goes
	lineLen  int64       // bytes after the file's last newline (an older daemon's unfinished line)
	stream   string      // of the lines Write appends: stdout or stderr, from the path
	partial  bool        // the last line of the stream written is a P piece
	failing  bool        // an error was logged and no write succeeded since
	evicted  bool        // the pool closed f: its next open is a reopen

	// pool bounds the open files (openfiles.go); nil: no bound. Set
	// before the File is shared.
	pool *OpenFiles
	// Of the pool's list: lastWrite is written with both l.mu and the
	// pool's mu held (readable with either); the links with the pool's.
	lastWrite  time.Time
	prev, next *File
	linked     bool

	// failure is the error while failing, nil otherwise: read without mu
	// (State.LogError), since mu is held across slow writes.
	failure atomic.Pointer[string]
}

// DefaultMode is the mode of the log files unless
// exec.Options.LogFileMode says otherwise: the owner's only, as the state
// files are, since output holds what instances print (tokens, addresses).
const DefaultMode os.FileMode = 0o600

// NewFile returns the writer of path, rotated at maxSize into at most
// maxFiles files; nothing is opened before the first write. Callers share
// one File per path (runtime/exec counts the handles using it).
func NewFile(path string, maxSize int64, maxFiles int, log *slog.Logger) *File {
	stream := "stdout"
	if strings.HasSuffix(path, ".stderr.log") {
		stream = "stderr"
	}
	return &File{path: path, maxSize: maxSize, maxFiles: maxFiles, log: log, mode: DefaultMode, fd: -1, stream: stream}
}

// Name is the file's path.
func (l *File) Name() string { return l.path }

// SetMode sets the mode of the files opened from now on (whatever the
// umask); DefaultLogFileMode until then.
func (l *File) SetMode(m os.FileMode) {
	l.mu.Lock()
	l.mode = m
	l.mu.Unlock()
}

// Failure is the error of the failing writes, "" while writes succeed.
// It does not wait for a write in progress.
func (l *File) Failure() string {
	if msg := l.failure.Load(); msg != nil {
		return *msg
	}
	return ""
}

// Settle waits for a write in progress to end.
func (l *File) Settle() {
	l.mu.Lock()
	defer l.mu.Unlock() // nothing to do under it: taking it is the wait
}

// SetLimits changes the rotation policy for the next writes.
func (l *File) SetLimits(maxSize int64, maxFiles int) {
	l.mu.Lock()
	l.maxSize, l.maxFiles = maxSize, maxFiles
	l.mu.Unlock()
}

// Write appends p, the output of one read: each line of it becomes a
// line of the file, prefixed with one timestamp (now, taken once for the
// whole of p) and the file's stream; a line longer than a piece, and the
// end of p when it has no newline, become P pieces (cut.go). The file is
// rotated between lines of the file, before one that would push it past
// maxSize.
func (l *File) Write(p []byte) {
	if len(p) == 0 {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.noteLocked(l.emitLocked(p, l.stream, time.Now()))
}

// Mark appends one line of the daemon's own (stream proclet), such as a
// run's StartMark. A line of the instance left partial is ended first.
//
// A File of an OpenFiles that was closed before the mark is closed again
// after it: a start of an instance that prints nothing then leaves no
// file open, rather than one the idle sweep closes seconds later (at a
// thousand starts, a burst of closes in the idle daemon).
func (l *File) Mark(text string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	wasOpen := l.f != nil
	err := l.endLineLocked(time.Now())
	if err == nil {
		err = l.emitLocked([]byte(text+"\n"), StreamProclet, time.Now())
	}
	l.noteLocked(err)
	if !wasOpen && l.pool != nil {
		l.closeLocked()
	}
}

// noteLocked records the outcome of a write: the first failure is logged
// and shown (LogError) and the output dropped while writes fail; the first
// success after that says so.
func (l *File) noteLocked(err error) {
	if err != nil {
		if !l.failing {
			l.log.Error("writing instance output; dropping it until writes succeed", "file", l.path, "err", err)
			msg := err.Error()
			l.failure.Store(&msg)
		}
		l.failing = true
		return
	}
	if l.failing {
		l.log.Info("writing instance output again", "file", l.path)
		l.failure.Store(nil)
	}
	l.failing = false
}

// EndLine ends a line left partial (the stream ended without a final
// newline) with an empty F piece, so that readers see it whole.
func (l *File) EndLine() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.noteLocked(l.endLineLocked(time.Now()))
}

func (l *File) endLineLocked(now time.Time) error {
	if !l.partial {
		return nil
	}
	return l.emitLocked([]byte{'\n'}, l.stream, now)
}

// outBufs holds the buffers a write formats its lines into.
var outBufs = sync.Pool{New: func() any { return new([]byte) }}

// emitLocked formats p into lines of stream at now and writes them, in one
// write(2) per file it goes into, rotating between lines as needed.
func (l *File) emitLocked(p []byte, stream string, now time.Time) error {
	l.resyncLocked()
	if l.f == nil { // first, so that size and lineLen are the file's
		if err := l.openLocked(); err != nil {
			return err
		}
	}
	bp := outBufs.Get().(*[]byte)
	defer outBufs.Put(bp)
	var prefix [64]byte
	pre := append(appendPrefix(prefix[:0], now, stream), 'F', ' ') // formatted once for all of p
	tag := len(pre) - 2
	out := (*bp)[:0]
	if l.lineLen > 0 { // an older daemon's file ends mid-line: end it
		out = append(out, '\n')
	}
	out = slices.Grow(out, len(p)+(bytes.Count(p, []byte{'\n'})+1)*(len(pre)+1))
	piece, partial := l.piece(), false
	for len(p) > 0 {
		n := bytes.IndexByte(p[:min(len(p), piece+1)], '\n') + 1 // the line and its newline
		partial = n == 0
		if partial { // no newline within a piece: a P piece (cut.go)
			n = min(len(p), piece)
		}
		size := len(pre) + n + b2i(partial)
		if l.size+int64(len(out)) > 0 && l.size+int64(len(out)+size) > l.maxSize {
			if err := l.flushLocked(out); err != nil {
				*bp = out[:0]
				return err
			}
			out = out[:0]
			if err := l.rotateLocked(); err != nil {
				*bp = out
				return err
			}
		}
		start := len(out)
		out = append(out, pre...)
		out = append(out, p[:n]...)
		if partial {
			out[start+tag] = 'P'
			out = append(out, '\n')
		}
		p = p[n:]
	}
	if stream != StreamProclet {
		l.partial = partial
	}
	err := l.flushLocked(out)
	*bp = out[:0]
	if l.pool != nil && l.f != nil {
		l.pool.touch(l, now)
	}
	return err
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// flushLocked writes out at the end of the file.
func (l *File) flushLocked(out []byte) error {
	if len(out) == 0 {
		return nil
	}
	w, err := l.f.WriteAt(out, l.size)
	l.size += int64(w)
	if w > 0 {
		l.lineLen = 0 // the file ends with a newline again
	}
	if err != nil {
		return l.failLocked(err)
	}
	return nil
}

// resyncLocked takes the file's end for its size again, once a round (an
// lseek): the daemon writes at explicit offsets, and a file truncated
// behind its back (logrotate's copytruncate, "> file") must be written
// from its new end, not after a hole, as O_APPEND would.
func (l *File) resyncLocked() {
	if l.f == nil {
		return
	}
	end, err := unix.Seek(l.fd, 0, io.SeekEnd)
	if err != nil || end == l.size {
		return
	}
	l.size = end
	if end == 0 {
		l.lineLen = 0
	}
}

// failLocked closes the file after a failed write, so the next write
// starts afresh (its size and line may be wrong now), and says what failed.
func (l *File) failLocked(err error) error {
	l.closeLocked()
	return fmt.Errorf("write %s: %w", l.path, err)
}

// openLocked opens (or creates) the file with the log mode, and learns
// where it ends: its size, and how long its last line is when the file
// does not end with a newline (a daemon killed mid-line, or a line
// unfinished when an instance restarted), so that the line is neither
// rotated apart nor let grow past maxLinePiece.
func (l *File) openLocked() error {
	if err := os.MkdirAll(filepath.Dir(l.path), DirMode(l.mode)); err != nil {
		return err
	}
	if l.pool != nil {
		l.pool.opening(l) // closes another file first when the bound is reached
		if l.evicted {
			l.pool.reopens.Add(1)
			l.evicted = false
		}
	}
	f, err := os.OpenFile(l.path, os.O_WRONLY|os.O_CREATE, l.mode)
	if err != nil {
		l.closeLocked()
		return err
	}
	st, err := f.Stat()
	if err == nil && st.Mode().Perm() != l.mode {
		err = f.Chmod(l.mode) // the umask's, or an older daemon's 0644
	}
	if err != nil {
		f.Close()
		l.closeLocked()
		return err
	}
	l.f, l.fd, l.size = f, int(f.Fd()), st.Size()
	l.lineLen = lastLineLen(l.path, l.size, l.piece())
	return nil
}

// DirMode is the mode of a log folder for files of mode m: searchable by
// whoever may read them.
func DirMode(m os.FileMode) os.FileMode {
	return m | (m&0o444)>>2
}

// rotateLocked renames .log to .log.1 after shifting .log.N to .log.N+1,
// deletes what falls beyond maxFiles and opens a new, empty .log.
func (l *File) rotateLocked() error {
	l.closeLocked()
	if l.maxFiles <= 0 {
		if err := os.Remove(l.path); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("rotate %s: %w", l.path, err)
		}
	} else {
		for i := l.maxFiles - 1; i >= 1; i-- {
			err := os.Rename(l.rotated(i), l.rotated(i+1))
			if err != nil && !errors.Is(err, os.ErrNotExist) {
				return fmt.Errorf("rotate %s: %w", l.path, err)
			}
		}
		if err := os.Rename(l.path, l.rotated(1)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("rotate %s: %w", l.path, err)
		}
	}
	l.removeBeyond(l.maxFiles)
	return l.openLocked()
}

func (l *File) rotated(i int) string { return l.path + "." + strconv.Itoa(i) }

// removeBeyond deletes rotated files numbered above keep (left over when
// maxFiles was lowered).
func (l *File) removeBeyond(keep int) {
	matches, _ := filepath.Glob(l.path + ".*")
	for _, m := range matches {
		n, err := strconv.Atoi(strings.TrimPrefix(m, l.path+"."))
		if err == nil && n > keep {
			os.Remove(m)
		}
	}
}

// Close closes the file; a later Write reopens it.
func (l *File) Close() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.closeLocked()
}

// closeLocked closes the file, if open, and takes it out of its pool's
// list (linked there from the open on, and while opening).
func (l *File) closeLocked() {
	l.closeFileLocked()
	if l.pool != nil {
		l.pool.closed(l)
	}
}

// closeFileLocked closes the file, if open, and nothing else.
func (l *File) closeFileLocked() {
	if l.f != nil {
		l.f.Close()
		l.f, l.fd = nil, -1
	}
}

// Limits reads the rotation policy of spec, falling back to the apis
// defaults for unset or unusable values.
func Limits(spec *v1alpha1.AppSpec) (maxSize int64, maxFiles int) {
	maxSize, _ = v1alpha1.DefaultLogMaxSize.Value()
	maxFiles = v1alpha1.DefaultLogMaxFiles
	if spec == nil {
		return maxSize, maxFiles
	}
	if n, err := spec.Logs.MaxSize.Value(); err == nil && n > 0 {
		maxSize = n
	}
	if spec.Logs.MaxFiles != nil && *spec.Logs.MaxFiles >= 0 {
		maxFiles = int(*spec.Logs.MaxFiles)
	}
	return maxSize, maxFiles
}
