package logfile

import (
	"errors"
	"log/slog"
	"path/filepath"
	"sync/atomic"
	"testing"

	"golang.org/x/sys/unix"
)

// pipeWith returns the read end of a pipe holding data.
func pipeWith(t *testing.T, data string) int {
	t.Helper()
	var p [2]int
	if err := unix.Pipe2(p[:], unix.O_CLOEXEC|unix.O_NONBLOCK); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(p[0]); unix.Close(p[1]) })
	if n, err := unix.Write(p[1], []byte(data)); err != nil || n != len(data) {
		t.Fatalf("write %d: %v", n, err)
	}
	return p[0]
}

func pipeEmpty(t *testing.T, fd int) {
	t.Helper()
	var b [1]byte
	if _, err := unix.Read(fd, b[:]); !errors.Is(err, unix.EAGAIN) {
		t.Fatalf("the pipe still holds data (read: %v)", err)
	}
}

// TestLogFile_WriteFromMovesExactly: writeFrom takes exactly the given
// bytes out of the pipe into the log, rotating between lines as Write does.
func TestLogFile_WriteFromMovesExactly(t *testing.T) {
	path := filepath.Join(t.TempDir(), "web-0.stdout.log")
	l := NewFile(path, 1<<20, 3, slog.New(slog.DiscardHandler))
	defer l.Close()
	data := "aaaa\nbbbb\n0123456789\ncc\ndd"
	fd := pipeWith(t, data+"NEXT")
	l.WriteFrom(fd, []byte(data))
	var rest [8]byte
	if n, _ := unix.Read(fd, rest[:]); string(rest[:n]) != "NEXT" {
		t.Fatalf("left in the pipe %q, want NEXT", rest[:n])
	}
	l.EndLine()
	l.Write([]byte("ee\n")) // the copying path goes on at the end
	if got, want := tagged(t, path), "F aaaa|F bbbb|F 0123456789|F cc|P dd|F |F ee"; got != want {
		t.Errorf("%s = %q, want %q", filepath.Base(path), got, want)
	}
}

// TestLogFile_WriteFromErrorDrains: a log that cannot be written is
// logged once, and the bytes leave the pipe all the same (the instance
// never blocks on the daemon's disk).
func TestLogFile_WriteFromErrorDrains(t *testing.T) {
	var errs atomic.Int64
	log := slog.New(countingHandler{Handler: slog.DiscardHandler, errors: &errs})
	l := NewFile("/dev/full", 1<<20, 1, log) // every write fails with ENOSPC
	defer l.Close()
	for range 10 {
		fd := pipeWith(t, "line\nline\n")
		l.WriteFrom(fd, []byte("line\nline\n"))
		pipeEmpty(t, fd)
	}
	if got := errs.Load(); got != 1 {
		t.Errorf("%d errors logged, want 1", got)
	}
	if l.Failure() == "" {
		t.Error("the failure is not reported")
	}
}
