package runtime

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"proclet.dev/proclet/apis/v1alpha1"
)

// LogPath is where an instance's stream ("stdout" or "stderr") is written:
// <stateDir>/logs/<app>/<instance>.<stream>.log. Rotated files add .1, .2 ...
// (.1 is the newest).
func LogPath(stateDir, app, instance, stream string) string {
	return filepath.Join(stateDir, "logs", app, instance+"."+stream+".log")
}

// logFile appends lines to one log file and rotates it by size. It is
// shared by every handle that writes the same path (an instance restarted
// while its predecessor still drains), so rotation happens in one place.
//
// Invariants: a rotation only happens at a line boundary, so a line is never
// split across two files; a line longer than maxSize goes whole into one
// file. A write error is logged once (until a write succeeds again) and the
// data is dropped: the reader must keep draining so the instance never
// blocks on a full disk.
type logFile struct {
	path string
	log  *slog.Logger
	refs int // handles using it; guarded by Exec.mu

	// mu guards the fields below and serialises writes and rotation; it is
	// held across file I/O on purpose: it is this file's own write lock.
	mu       sync.Mutex
	maxSize  int64
	maxFiles int
	f        *os.File
	size     int64
	midLine  bool // the last write did not end with '\n'
	failing  bool // an error was logged and no write succeeded since

	// failure is the error while failing, nil otherwise: read without mu
	// (State.LogError), since mu is held across slow writes.
	failure atomic.Pointer[string]
}

func newLogFile(path string, maxSize int64, maxFiles int, log *slog.Logger) *logFile {
	return &logFile{path: path, maxSize: maxSize, maxFiles: maxFiles, log: log}
}

// setLimits changes the rotation policy for the next writes.
func (l *logFile) setLimits(maxSize int64, maxFiles int) {
	l.mu.Lock()
	l.maxSize, l.maxFiles = maxSize, maxFiles
	l.mu.Unlock()
}

// Write appends p: whole lines, or a piece of one, or lines and then a
// piece. The file is rotated between lines, before a line that would push
// it past maxSize.
func (l *logFile) Write(p []byte) {
	if len(p) == 0 {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.noteLocked(l.writeLocked(p))
}

// noteLocked records the outcome of a write: the first failure is logged
// and shown (LogError) and the output dropped while writes fail; the first
// success after that says so.
func (l *logFile) noteLocked(err error) {
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

// EndLine terminates a line left unfinished (the stream ended without a
// final newline), so the next writer starts on a fresh line.
func (l *logFile) EndLine() {
	l.mu.Lock()
	mid := l.midLine
	l.mu.Unlock()
	if mid {
		l.Write([]byte{'\n'})
	}
}

func (l *logFile) writeLocked(p []byte) error {
	if l.f == nil { // first, so that size is the file's
		if err := l.openLocked(); err != nil {
			return err
		}
	}
	for len(p) > 0 {
		n := l.segmentLocked(p)
		if err := l.writeSegmentLocked(p[:n]); err != nil {
			return err
		}
		p = p[n:]
	}
	return nil
}

// segmentLocked is how much of p to write next: what fits the current
// file up to a line boundary; when no whole line fits, what fits a new
// file (writeSegmentLocked rotates first); a first line longer than
// maxSize whole; the rest of a line begun.
func (l *logFile) segmentLocked(p []byte) int {
	if l.midLine {
		if i := bytes.IndexByte(p, '\n'); i >= 0 {
			return i + 1
		}
		return len(p)
	}
	for _, room := range []int64{l.maxSize - l.size, l.maxSize} {
		if int64(len(p)) <= room {
			return len(p)
		}
		if room > 0 {
			if i := bytes.LastIndexByte(p[:room], '\n'); i >= 0 {
				return i + 1
			}
		}
	}
	if i := bytes.IndexByte(p, '\n'); i >= 0 {
		return i + 1
	}
	return len(p)
}

// writeSegmentLocked writes p, rotating first when p begins a line and
// would push the file past maxSize.
func (l *logFile) writeSegmentLocked(p []byte) error {
	if l.f == nil {
		if err := l.openLocked(); err != nil {
			return err
		}
	}
	if !l.midLine && l.size > 0 && l.size+int64(len(p)) > l.maxSize {
		if err := l.rotateLocked(); err != nil {
			return err
		}
	}
	n, err := l.f.Write(p)
	l.size += int64(n)
	if n > 0 {
		l.midLine = p[n-1] != '\n'
	}
	if err != nil {
		// Start afresh on the next write: the size may be wrong now.
		l.f.Close()
		l.f = nil
		return fmt.Errorf("write %s: %w", l.path, err)
	}
	return nil
}

func (l *logFile) openLocked() error {
	if err := os.MkdirAll(filepath.Dir(l.path), 0o755); err != nil {
		return err
	}
	f, err := os.OpenFile(l.path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return err
	}
	l.f, l.size = f, st.Size()
	return nil
}

// rotateLocked renames .log to .log.1 after shifting .log.N to .log.N+1,
// deletes what falls beyond maxFiles and opens a new, empty .log.
func (l *logFile) rotateLocked() error {
	if l.f != nil {
		l.f.Close()
		l.f = nil
	}
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

func (l *logFile) rotated(i int) string { return l.path + "." + strconv.Itoa(i) }

// removeBeyond deletes rotated files numbered above keep (left over when
// maxFiles was lowered).
func (l *logFile) removeBeyond(keep int) {
	matches, _ := filepath.Glob(l.path + ".*")
	for _, m := range matches {
		n, err := strconv.Atoi(strings.TrimPrefix(m, l.path+"."))
		if err == nil && n > keep {
			os.Remove(m)
		}
	}
}

// Close closes the file; a later Write reopens it.
func (l *logFile) Close() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f != nil {
		l.f.Close()
		l.f = nil
	}
}

// logLimits reads the rotation policy of spec, falling back to the apis
// defaults for unset or unusable values.
func logLimits(spec *v1alpha1.AppSpec) (maxSize int64, maxFiles int) {
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
