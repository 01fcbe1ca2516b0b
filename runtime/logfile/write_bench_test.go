package logfile

import (
	"bytes"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
)

// BenchmarkWrite measures the formatting and writing of one read of 64 KiB
// of 100-byte lines, the log path's unit of work.
func BenchmarkWrite(b *testing.B) {
	p := bytes.Repeat(append(bytes.Repeat([]byte("x"), 99), '\n'), 655)
	l := NewFile(filepath.Join(b.TempDir(), "x.stdout.log"), 1<<30, 1, slog.New(slog.DiscardHandler))
	defer l.Close()
	b.SetBytes(int64(len(p)))
	for i := 0; b.Loop(); i++ {
		if i%1000 == 0 {
			os.Truncate(l.Name(), 0)
		}
		l.Write(p)
	}
}

// BenchmarkWriteLine measures a read of one 100-byte line into a File of
// an OpenFiles: the fixed cost of a write (a pwrite, and the pool's
// bookkeeping of the last write).
func BenchmarkWriteLine(b *testing.B) {
	p := append(bytes.Repeat([]byte("x"), 99), '\n')
	l := NewOpenFiles().NewFile(filepath.Join(b.TempDir(), "x.stdout.log"), 1<<30, 1, slog.New(slog.DiscardHandler))
	defer l.Close()
	b.SetBytes(int64(len(p)))
	for i := 0; b.Loop(); i++ {
		if i%100000 == 0 {
			os.Truncate(l.Name(), 0)
		}
		l.Write(p)
	}
}
