package logfile

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"proclet.dev/proclet/runtime/internal/testutil"
)

// newPool is a pool bounded to max.
func newPool(t *testing.T, bound int) *OpenFiles {
	t.Helper()
	p := NewOpenFiles()
	p.SetMax(bound)
	return p
}

var quiet = slog.New(slog.DiscardHandler)

// Five files written in turn through a pool of two: never more than two
// open, after any write; every line lands once, in order, in its file.
func TestOpenFiles_Bound(t *testing.T) {
	dir := t.TempDir()
	p := newPool(t, 2)
	var files []*File
	for i := range 5 {
		l := p.NewFile(filepath.Join(dir, fmt.Sprintf("web-%d.stdout.log", i)), 1<<20, 1, quiet)
		defer l.Close()
		files = append(files, l)
	}
	const rounds = 20
	for r := range rounds {
		for i, l := range files {
			l.Write(fmt.Appendf(nil, "file %d line %d\n", i, r))
			if n := testutil.OpenUnder(t, dir); n > 2 {
				t.Fatalf("round %d, file %d: %d log files open, want at most 2", r, i, n)
			}
		}
	}
	for i, l := range files {
		var want []string
		for r := range rounds {
			want = append(want, fmt.Sprintf("F file %d line %d", i, r))
		}
		if got := tagged(t, l.Name()); got != strings.Join(want, "|") {
			t.Errorf("file %d = %q", i, got)
		}
	}
	st := p.Stats()
	if st.Open != 2 || st.Evictions < int64(5*rounds-2) || st.Reopens < int64(5*rounds-5) || st.OverBound != 0 {
		t.Errorf("stats %+v: want 2 open, an eviction and a reopen per write but the first ones", st)
	}
}

// The least recently written file is the one closed, not the oldest
// opened.
func TestOpenFiles_EvictsLeastRecentlyWritten(t *testing.T) {
	dir := t.TempDir()
	p := newPool(t, 2)
	a := p.NewFile(filepath.Join(dir, "a.stdout.log"), 1<<20, 1, quiet)
	b := p.NewFile(filepath.Join(dir, "b.stdout.log"), 1<<20, 1, quiet)
	c := p.NewFile(filepath.Join(dir, "c.stdout.log"), 1<<20, 1, quiet)
	for _, l := range []*File{a, b, c} {
		defer l.Close()
	}
	a.Write([]byte("1\n"))
	b.Write([]byte("1\n"))
	a.Write([]byte("2\n")) // b is now the least recently written
	c.Write([]byte("1\n"))
	if a.f == nil || b.f != nil || c.f == nil {
		t.Errorf("open: a %v b %v c %v, want a and c", a.f != nil, b.f != nil, c.f != nil)
	}
}

// SetMax closes the files past a lowered bound at once.
func TestOpenFiles_SetMaxCloses(t *testing.T) {
	dir := t.TempDir()
	p := newPool(t, 3)
	for i := range 3 {
		l := p.NewFile(filepath.Join(dir, fmt.Sprintf("%d.stdout.log", i)), 1<<20, 1, quiet)
		defer l.Close()
		l.Write([]byte("x\n"))
	}
	if n := testutil.OpenUnder(t, dir); n != 3 {
		t.Fatalf("%d open, want 3", n)
	}
	p.SetMax(1)
	if n := testutil.OpenUnder(t, dir); n != 1 {
		t.Errorf("%d open after SetMax(1), want 1", n)
	}
	if st := p.Stats(); st.Open != 1 || st.Max != 1 || st.Evictions != 2 {
		t.Errorf("stats %+v", st)
	}
}

func TestOpenFiles_DefaultMax(t *testing.T) {
	m := NewOpenFiles().Stats().Max
	if m < 1 || m > MaxOpenLimit || m != DefaultMaxOpen() {
		t.Errorf("default max %d, DefaultMaxOpen %d", m, DefaultMaxOpen())
	}
}

// idleClose writes through l with f, then closes it as idle and checks
// its descriptor is gone.
func idleClose(t *testing.T, p *OpenFiles, l *File) {
	t.Helper()
	dir := filepath.Dir(l.Name())
	now := time.Now()
	p.CloseIdle(now, time.Hour) // written just now: kept
	if testutil.OpenUnder(t, dir) == 0 {
		t.Fatal("CloseIdle closed a file written less than idle ago")
	}
	p.CloseIdle(now.Add(time.Hour), time.Hour)
	if n := testutil.OpenUnder(t, dir); n != 0 {
		t.Fatalf("%d descriptors left on %s after CloseIdle", n, dir)
	}
}

// A file closed as idle is reopened by the next write, which goes after
// what is there.
func TestOpenFiles_IdleCloseAndReopen(t *testing.T) {
	dir := t.TempDir()
	p := newPool(t, 8)
	l := p.NewFile(filepath.Join(dir, "web-0.stdout.log"), 1<<20, 1, quiet)
	defer l.Close()
	l.Write([]byte("one\n"))
	idleClose(t, p, l)
	l.Write([]byte("two\n"))
	if got := tagged(t, l.Name()); got != "F one|F two" {
		t.Errorf("file = %q", got)
	}
	if st := p.Stats(); st.IdleCloses != 1 || st.Reopens != 1 || st.Open != 1 || st.Evictions != 0 {
		t.Errorf("stats %+v", st)
	}
}

// A file truncated while closed is written from its new end, with no hole.
func TestOpenFiles_TruncatedWhileClosed(t *testing.T) {
	dir := t.TempDir()
	p := newPool(t, 8)
	l := p.NewFile(filepath.Join(dir, "web-0.stdout.log"), 1<<20, 1, quiet)
	defer l.Close()
	l.Write([]byte("one\n"))
	idleClose(t, p, l)
	if err := os.Truncate(l.Name(), 0); err != nil {
		t.Fatal(err)
	}
	l.Write([]byte("two\n"))
	if got := tagged(t, l.Name()); got != "F two" {
		t.Errorf("file = %q", got)
	}
}

// A line left partial (a P piece) when the file is closed is continued by
// the next write, or ended by a mark, as if it had stayed open; a line
// someone else left unfinished meanwhile is ended first.
func TestOpenFiles_PartialLineAcrossClose(t *testing.T) {
	dir := t.TempDir()
	p := newPool(t, 8)
	l := p.NewFile(filepath.Join(dir, "web-0.stdout.log"), 1<<20, 1, quiet)
	defer l.Close()
	l.Write([]byte("hal"))
	idleClose(t, p, l)
	l.Write([]byte("f\nagain"))
	idleClose(t, p, l)
	l.Mark(StartMark(7, "r")) // on a closed file: closed again after it
	if n := testutil.OpenUnder(t, dir); n != 0 {
		t.Fatalf("%d descriptors left after a mark on a closed file", n)
	}
	f, err := os.OpenFile(l.Name(), os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString(appendPrefixString("stdout") + "F unfinished") // no newline
	f.Close()
	l.Write([]byte("last\n"))
	want := "P hal|F f|P again|F |F --- started pid 7 revision r ---|F unfinished|F last"
	if got := tagged(t, l.Name()); got != want {
		t.Errorf("file = %q\nwant   %q", got, want)
	}
}

func appendPrefixString(stream string) string {
	return string(appendPrefix(nil, time.Now(), stream))
}

// Rotation by size counts what was written before a close: the size is
// learnt again on reopen.
func TestOpenFiles_RotatesAcrossClose(t *testing.T) {
	dir := t.TempDir()
	p := newPool(t, 8)
	const line = len(TimeLayout) + len(" stdout F ") + 2 // "N\n"
	l := p.NewFile(filepath.Join(dir, "web-0.stdout.log"), int64(2*line), 2, quiet)
	defer l.Close()
	for i := range 5 {
		l.Write(fmt.Appendf(nil, "%d\n", i))
		idleClose(t, p, l)
	}
	for name, want := range map[string]string{
		l.Name() + ".2": "F 0|F 1",
		l.Name() + ".1": "F 2|F 3",
		l.Name():        "F 4",
	} {
		if got := tagged(t, name); got != want {
			t.Errorf("%s = %q, want %q", filepath.Base(name), got, want)
		}
	}
}

// A file reopened gets its mode back, whatever was done to it meanwhile.
func TestOpenFiles_ModeKeptAcrossClose(t *testing.T) {
	dir := t.TempDir()
	p := newPool(t, 8)
	l := p.NewFile(filepath.Join(dir, "web-0.stdout.log"), 1<<20, 1, quiet)
	defer l.Close()
	l.SetMode(0o640)
	l.Write([]byte("one\n"))
	idleClose(t, p, l)
	if err := os.Chmod(l.Name(), 0o604); err != nil {
		t.Fatal(err)
	}
	l.Write([]byte("two\n"))
	if st, err := os.Stat(l.Name()); err != nil || st.Mode().Perm() != 0o640 {
		t.Errorf("mode %v (%v), want 0640", st.Mode().Perm(), err)
	}
}

// within reports whether f returned within d, failing the test if not:
// what a pool waiting on a busy file would do.
func within(t *testing.T, d time.Duration, what string, f func()) bool {
	t.Helper()
	done := make(chan struct{})
	go func() { f(); close(done) }()
	select {
	case <-done:
		return true
	case <-time.After(d):
		t.Errorf("%s blocked on a busy file", what)
		return false
	}
}

// A file whose mu is held (a write in progress) is neither evicted nor
// closed as idle, and nobody waits for it: the opener opens past the bound
// and says so.
func TestOpenFiles_BusyVictimSkipped(t *testing.T) {
	dir := t.TempDir()
	p := newPool(t, 1)
	a := p.NewFile(filepath.Join(dir, "a.stdout.log"), 1<<20, 1, quiet)
	b := p.NewFile(filepath.Join(dir, "b.stdout.log"), 1<<20, 1, quiet)
	defer a.Close()
	defer b.Close()
	a.Write([]byte("a\n"))
	a.mu.Lock() // a write of a in progress
	if !within(t, 10*time.Second, "an eviction", func() { b.Write([]byte("b\n")) }) ||
		!within(t, 10*time.Second, "CloseIdle", func() { p.CloseIdle(time.Now().Add(time.Hour), time.Second) }) {
		a.mu.Unlock() // let what waits for it end
		t.FailNow()
	}
	if n := testutil.OpenUnder(t, dir); n != 1 {
		t.Errorf("%d open with a busy, want 1 (b's closed as idle, a's kept)", n)
	}
	st := p.Stats()
	a.mu.Unlock()
	if st.OverBound != 1 || st.Evictions != 0 || st.IdleCloses != 1 {
		t.Errorf("stats %+v, want one open past the bound, no eviction, one idle close", st)
	}
	a.Write([]byte("a\n")) // the bound holds again from the next open
	b.Write([]byte("b\n"))
	if n := testutil.OpenUnder(t, dir); n != 1 {
		t.Errorf("%d open, want 1", n)
	}
	if got := tagged(t, a.Name()) + " " + tagged(t, b.Name()); got != "F a|F a F b|F b" {
		t.Errorf("files = %q", got)
	}
}

// A start's mark on a closed file leaves it closed (an instance that
// prints nothing holds no log file, and the idle sweep has nothing to
// close later); on an open file it leaves it open. Lines come in order.
func TestOpenFiles_MarkLeavesClosedFileClosed(t *testing.T) {
	dir := t.TempDir()
	p := newPool(t, 8)
	l := p.NewFile(filepath.Join(dir, "web-0.stdout.log"), 1<<20, 1, quiet)
	defer l.Close()
	l.Mark(StartMark(100, "r1"))
	if n := testutil.OpenUnder(t, dir); n != 0 || p.Stats().Open != 0 {
		t.Fatalf("after a mark on a closed file: %d open (%+v), want none", n, p.Stats())
	}
	l.Write([]byte("one\n"))
	l.Mark(StartMark(101, "r1"))
	if n := testutil.OpenUnder(t, dir); n != 1 {
		t.Errorf("after a mark on an open file: %d open, want it still open", n)
	}
	l.Write([]byte("two\n"))
	data, err := os.ReadFile(l.Name())
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Count(string(data), "\n"); got != 4 || !strings.Contains(string(data), " F one\n") ||
		strings.Index(string(data), "one") > strings.Index(string(data), "two") {
		t.Errorf("file:\n%s", data)
	}
}
