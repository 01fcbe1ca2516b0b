package logfile

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"proclet.dev/proclet/apis/v1alpha1"
)

func TestLogFile_RotatesOnlyAtLineBoundaries(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "web-0.stdout.log")
	const line = len(TimeLayout) + len(" stdout F ") // a prefix
	l := NewFile(path, int64(2*line+10), 3, slog.New(slog.DiscardHandler))
	defer l.Close()
	l.Write([]byte("aaaa\n"))   // line+5
	l.Write([]byte("bbbb\n"))   // 2*line+10: fits exactly
	l.Write([]byte("0123"))     // a P piece: rotates first
	l.Write([]byte("456789\n")) // continues it: F
	l.Write([]byte("cc\n"))     // rotates
	l.Write([]byte("dd"))       // P, fits
	l.EndLine()                 // an empty F ends it: rotates
	l.EndLine()                 // nothing to end
	for name, want := range map[string]string{
		path + ".3": "F aaaa|F bbbb",
		path + ".2": "P 0123|F 456789",
		path + ".1": "F cc|P dd",
		path:        "F ",
	} {
		if got := tagged(t, name); got != want {
			t.Errorf("%s = %q, want %q", filepath.Base(name), got, want)
		}
	}
}

func TestLogFile_KeepsMaxFilesAndAppends(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "x.log")
	const line = len(TimeLayout) + len(" stdout F ") + 8
	if err := os.WriteFile(path+".7", []byte("stale\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	l := NewFile(path, int64(line), 2, slog.New(slog.DiscardHandler))
	defer l.Close()
	for _, text := range []string{"0000000\n", "1111111\n", "2222222\n", "3333333\n"} {
		l.Write([]byte(text))
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
		path + ".2": "F 1111111", // 0000000 was rotated out
		path + ".1": "F 2222222",
		path:        "F 3333333",
	} {
		if got := tagged(t, name); got != want {
			t.Errorf("%s = %q, want %q", filepath.Base(name), got, want)
		}
	}
}

// The lines of one write share one timestamp, the time it was read; a
// later write has a later one. The stream is the file's.
func TestLogFile_TimestampPerWrite(t *testing.T) {
	path := filepath.Join(t.TempDir(), "web-0.stderr.log")
	l := NewFile(path, 1<<20, 2, slog.New(slog.DiscardHandler))
	defer l.Close()
	before := time.Now()
	l.Write([]byte("a\nb\nc\n"))
	l.Write([]byte("d\n"))
	after := time.Now()
	data, _ := os.ReadFile(path)
	var ls []Line
	for _, b := range bytes.Split(bytes.TrimSuffix(data, []byte("\n")), []byte("\n")) {
		ls = append(ls, ParseLine(b))
	}
	if len(ls) != 4 {
		t.Fatalf("%d lines: %q", len(ls), data)
	}
	for i, x := range ls {
		if x.Stream != "stderr" || x.Partial || x.Time.Before(before.Truncate(time.Nanosecond)) || x.Time.After(after) {
			t.Errorf("line %d = %+v, want stderr F between %v and %v", i, x, before, after)
		}
	}
	if !ls[0].Time.Equal(ls[2].Time) || ls[3].Time.Before(ls[2].Time) {
		t.Errorf("times %v %v %v %v: one per write, in order", ls[0].Time, ls[1].Time, ls[2].Time, ls[3].Time)
	}
}

// A start marker ends a line left partial and is a proclet line; Plain
// leaves it out.
func TestLogFile_Mark(t *testing.T) {
	path := filepath.Join(t.TempDir(), "web-0.stdout.log")
	l := NewFile(path, 1<<20, 2, slog.New(slog.DiscardHandler))
	defer l.Close()
	l.Write([]byte("half"))
	l.Mark(StartMark(42, "abc"))
	l.Write([]byte("x\n"))
	data, _ := os.ReadFile(path)
	lines := bytes.Split(bytes.TrimSuffix(data, []byte("\n")), []byte("\n"))
	if len(lines) != 4 {
		t.Fatalf("%q", data)
	}
	m := ParseLine(lines[2])
	if !m.IsStart() || string(m.Text) != "--- started pid 42 revision abc ---" {
		t.Errorf("marker %+v", m)
	}
	if got := Plain(data); string(got) != "half\nx\n" {
		t.Errorf("plain %q", got)
	}
}

// Lines written before the CRI format are read as they are, with no time;
// an old cut mark makes a partial line; something that merely looks like a
// prefix is text.
func TestParseLine_OldFormat(t *testing.T) {
	for in, want := range map[string]Line{
		"plain old line":                           {Text: []byte("plain old line")},
		"0123456789" + CutMark[:len(CutMark)-1]:    {Text: []byte("0123456789"), Partial: true},
		"2026-01-01 stdout F not a timestamp":      {Text: []byte("2026-01-01 stdout F not a timestamp")},
		"2026-01-01T00:00:00Z console F x":         {Text: []byte("2026-01-01T00:00:00Z console F x")},
		"2026-01-01T00:00:00Z stdout X x":          {Text: []byte("2026-01-01T00:00:00Z stdout X x")},
		"2026-01-01T00:00:00.5Z stderr P x y":      {Time: time.Date(2026, 1, 1, 0, 0, 0, 5e8, time.UTC), Stream: "stderr", Partial: true, Text: []byte("x y")},
		"2026-01-01T00:00:00.000000001Z stdout F ": {Time: time.Date(2026, 1, 1, 0, 0, 0, 1, time.UTC), Stream: "stdout", Text: []byte{}},
		"": {Text: []byte{}},
	} {
		got := ParseLine([]byte(in))
		if !got.Time.Equal(want.Time) || got.Stream != want.Stream || got.Partial != want.Partial || !bytes.Equal(got.Text, want.Text) {
			t.Errorf("ParseLine(%q) = %+v, want %+v", in, got, want)
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
