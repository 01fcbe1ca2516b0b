//go:build linux

package logfile

import (
	"bytes"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
	"proclet.dev/proclet/runtime/internal/testutil"
)

// A line longer than a piece is cut into P pieces, the last one F; the
// end of a write without a newline is a P piece that the next continues.
func TestLogFile_CutsALineLongerThanAPiece(t *testing.T) {
	path := filepath.Join(t.TempDir(), "web-0.stdout.log")
	l := NewFile(path, 10, 10, slog.New(slog.DiscardHandler)) // a piece is maxSize: 10
	defer l.Close()
	l.Write([]byte("0123456789ABCDEFGHIJ")) // cut after 10; the rest is the end of the write
	l.Write([]byte("KL\nok\n"))
	names, contents := testutil.ReadRotated(t, path)
	var got []string
	for _, n := range names {
		got = append(got, tagged(t, filepath.Join(filepath.Dir(path), n)))
	}
	if want := "P 0123456789|P ABCDEFGHIJ|F KL|F ok"; strings.Join(got, "|") != want {
		t.Errorf("lines %q, want %q", strings.Join(got, "|"), want)
	}
	if p := Plain(bytes.Join(contents, nil)); string(p) != "0123456789ABCDEFGHIJKL\nok\n" {
		t.Errorf("plain %q", p)
	}
}

// hugeLine is n bytes of a line that never ends, in a pattern that shows
// a lost or repeated piece.
func hugeLine(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = 'a' + byte(i%7919%26)
	}
	return b
}

// A writer of one endless line: the files are rotated all the same and
// hold at most maxSize and one line each, so the set stays within
// (maxFiles + 1) of that; what they hold is the line's tail, nothing lost
// or repeated. Checked after every write, by both paths.
func TestLogFile_OneHugeLineStaysBounded(t *testing.T) {
	const maxSize, maxFiles, total = 100 << 10, 2, 8 << 20
	const maxLine = len(TimeLayout) + len(" stdout P ") + MaxLinePieceCap + 1
	input := hugeLine(total)
	for _, spliced := range []bool{false, true} {
		name := "copied"
		if spliced {
			name = "spliced"
		}
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "x.stdout.log")
			l := NewFile(path, maxSize, maxFiles, slog.New(slog.DiscardHandler))
			defer l.Close()
			var pipe [2]int
			if err := unix.Pipe2(pipe[:], unix.O_CLOEXEC|unix.O_NONBLOCK); err != nil {
				t.Fatal(err)
			}
			defer unix.Close(pipe[0])
			defer unix.Close(pipe[1])
			bound := int64(maxFiles+1) * int64(maxSize+maxLine)
			for p, i := input, 0; len(p) > 0; i++ {
				chunk := p[:min(len(p), 1+(i*7919)%(32<<10))]
				if spliced {
					if n, err := unix.Write(pipe[1], chunk); err != nil || n != len(chunk) {
						t.Fatalf("pipe write %d: %v", n, err)
					}
					l.WriteFrom(pipe[0], chunk)
				} else {
					l.Write(chunk)
				}
				p = p[len(chunk):]
				if i%16 == 0 {
					if n := testutil.LogSetSize(t, path); n > bound {
						t.Fatalf("after %d bytes the files hold %d, above %d", total-len(p), n, bound)
					}
				}
			}
			names, contents := testutil.ReadRotated(t, path)
			if len(names) != maxFiles+1 {
				t.Errorf("files %v, want %d", names, maxFiles+1)
			}
			for i, c := range contents {
				if len(c) > maxSize+maxLine {
					t.Errorf("%s holds %d bytes", names[i], len(c))
				}
				for _, line := range bytes.SplitAfter(c, []byte("\n")) {
					if len(line) > maxLine {
						t.Errorf("%s holds a line of %d bytes", names[i], len(line))
					}
				}
			}
			got := Plain(bytes.Join(contents, nil))
			if len(got) < maxSize/2 || !bytes.HasSuffix(input, got) {
				t.Errorf("the files hold %d bytes that are not the last ones written", len(got))
			}
		})
	}
}

// A file an older daemon left ending mid-line (no CRI prefix) gets that
// line ended before the first new one; both stay readable.
func TestLogFile_EndsTheLineAnOlderFileEndsWith(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.stdout.log")
	if err := os.WriteFile(path, []byte("abc\ndef"), 0o600); err != nil {
		t.Fatal(err)
	}
	l := NewFile(path, 1<<20, 2, slog.New(slog.DiscardHandler))
	l.Write([]byte("ghi\n"))
	l.Close()
	data, _ := os.ReadFile(path)
	if !bytes.HasPrefix(data, []byte("abc\ndef\n")) || !criLine.Match(data[len("abc\ndef\n"):]) {
		t.Errorf("x.log = %q", data)
	}
	if got := Plain(data); string(got) != "abc\ndef\nghi\n" {
		t.Errorf("plain %q", got)
	}
}

// Log files are the owner's alone by default, whatever the umask, rotated
// ones too, and one left 0644 by an older daemon is made so when opened;
// another mode is used as given.
func TestLogFile_Mode(t *testing.T) {
	old := syscall.Umask(0o002) // would leave 0664
	defer syscall.Umask(old)
	for _, mode := range []os.FileMode{DefaultMode, 0o640} {
		dir := t.TempDir()
		path := filepath.Join(dir, "app", "x.log")
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte("old\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		l := NewFile(path, 1024, 2, slog.New(slog.DiscardHandler))
		l.mode = mode
		l.Write([]byte("new\n"))
		l.Write(bytes.Repeat([]byte("line\n"), 300)) // rotates
		l.Close()
		for _, p := range []string{path, path + ".1"} {
			st, err := os.Stat(p)
			if err != nil {
				t.Fatal(err)
			}
			if st.Mode().Perm() != mode {
				t.Errorf("%s is %v, want %v", filepath.Base(p), st.Mode().Perm(), mode)
			}
		}
		fresh := filepath.Join(dir, "new", "y.log")
		l = NewFile(fresh, 1024, 2, slog.New(slog.DiscardHandler))
		l.mode = mode
		l.Write([]byte("x\n"))
		l.Close()
		if st, err := os.Stat(filepath.Dir(fresh)); err != nil || st.Mode().Perm() != DirMode(mode)&^0o002 {
			t.Errorf("a new log folder is %v (%v), want %v", st.Mode().Perm(), err, DirMode(mode))
		}
	}
}

// A log truncated behind the daemon's back (logrotate's copytruncate) is
// written from its new end, as O_APPEND would, not after a hole.
func TestLogFile_TruncatedBehindItsBack(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.log")
	l := NewFile(path, 1<<20, 2, slog.New(slog.DiscardHandler))
	defer l.Close()
	l.Write([]byte("before\n"))
	if err := os.Truncate(path, 0); err != nil {
		t.Fatal(err)
	}
	l.Write([]byte("after\n"))
	fd := pipeWith(t, "spliced\n")
	l.WriteFrom(fd, []byte("spliced\n"))
	if got := tagged(t, path); got != "F after|F spliced" {
		t.Errorf("x.log = %q, want %q", got, "F after|F spliced")
	}
}
