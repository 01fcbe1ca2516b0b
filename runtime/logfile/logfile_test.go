package logfile

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"proclet.dev/proclet/apis/v1alpha1"
)

func TestLogFile_RotatesOnlyAtLineBoundaries(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "web-0.stdout.log")
	l := NewFile(path, 10, 3, slog.New(slog.DiscardHandler))
	defer l.Close()
	l.Write([]byte("aaaa\n"))   // 5
	l.Write([]byte("bbbb\n"))   // 10: fits exactly
	l.Write([]byte("0123"))     // starts a line: rotates first
	l.Write([]byte("456789\n")) // piece of the same line: no rotation
	l.Write([]byte("cc\n"))     // rotates
	l.Write([]byte("dd"))       // fits, unfinished
	l.EndLine()                 // finishes it
	l.EndLine()                 // nothing to finish
	for name, want := range map[string]string{
		path + ".2": "aaaa\nbbbb\n",
		path + ".1": "0123456789\n",
		path:        "cc\ndd\n",
	} {
		if got, _ := os.ReadFile(name); string(got) != want {
			t.Errorf("%s = %q, want %q", filepath.Base(name), got, want)
		}
	}
}

func TestLogFile_KeepsMaxFilesAndAppends(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "x.log")
	if err := os.WriteFile(path, []byte("old\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path+".7", []byte("stale\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	l := NewFile(path, 8, 2, slog.New(slog.DiscardHandler))
	defer l.Close()
	l.Write([]byte("new\n")) // appended to the existing file: 8 bytes
	for _, line := range []string{"1111111\n", "2222222\n", "3333333\n"} {
		l.Write([]byte(line))
	}
	entries, _ := os.ReadDir(dir)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if got, want := strings.Join(names, " "), "x.log x.log.1 x.log.2"; got != want {
		t.Errorf("files = %s, want %s", got, want)
	}
	for name, want := range map[string]string{
		path + ".2": "1111111\n", // "old\nnew\n" was rotated out
		path + ".1": "2222222\n",
		path:        "3333333\n",
	} {
		if got, _ := os.ReadFile(name); string(got) != want {
			t.Errorf("%s = %q, want %q", filepath.Base(name), got, want)
		}
	}
}

// countingHandler counts records at Error level.
type countingHandler struct {
	slog.Handler
	errors *atomic.Int64
}

func (h countingHandler) Handle(ctx context.Context, r slog.Record) error {
	if r.Level == slog.LevelError {
		h.errors.Add(1)
	}
	return nil
}

func (h countingHandler) Enabled(context.Context, slog.Level) bool { return true }

func (h countingHandler) WithAttrs([]slog.Attr) slog.Handler { return h }

func TestLogFile_WriteErrorLoggedOnceAndDropped(t *testing.T) {
	var errs atomic.Int64
	log := slog.New(countingHandler{Handler: slog.DiscardHandler, errors: &errs})
	l := NewFile("/dev/full", 1<<20, 1, log) // every write fails with ENOSPC
	defer l.Close()
	for range 100 {
		l.Write([]byte("line\n"))
	}
	if got := errs.Load(); got != 1 {
		t.Errorf("%d errors logged, want 1", got)
	}
}

func TestLogLimits(t *testing.T) {
	three := int32(3)
	zero := int32(0)
	for _, tc := range []struct {
		name      string
		spec      *v1alpha1.AppSpec
		wantSize  int64
		wantFiles int
	}{
		{"nil spec", nil, 10 << 20, 5},
		{"unset", &v1alpha1.AppSpec{}, 10 << 20, 5},
		{"binary", &v1alpha1.AppSpec{Logs: v1alpha1.LogSpec{MaxSize: "64Ki", MaxFiles: &three}}, 64 << 10, 3},
		{"decimal", &v1alpha1.AppSpec{Logs: v1alpha1.LogSpec{MaxSize: "2M", MaxFiles: &zero}}, 2e6, 0},
		{"plain", &v1alpha1.AppSpec{Logs: v1alpha1.LogSpec{MaxSize: "4096"}}, 4096, 5},
		{"garbage", &v1alpha1.AppSpec{Logs: v1alpha1.LogSpec{MaxSize: "lots"}}, 10 << 20, 5},
	} {
		t.Run(tc.name, func(t *testing.T) {
			size, files := Limits(tc.spec)
			if size != tc.wantSize || files != tc.wantFiles {
				t.Errorf("logLimits = %d, %d; want %d, %d", size, files, tc.wantSize, tc.wantFiles)
			}
		})
	}
}
