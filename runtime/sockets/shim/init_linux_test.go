package shim

import (
	"strings"
	"syscall"
	"testing"
	"time"
)

// The init runner's timestamps are runtime/logfile's TimeLayout, UTC.
func TestAppendTime(t *testing.T) {
	for _, at := range []time.Time{
		time.Unix(0, 0), time.Date(2000, 2, 29, 23, 59, 59, 999999999, time.UTC),
		time.Date(2026, 12, 7, 17, 20, 31, 123456789, time.UTC), time.Date(2100, 3, 1, 0, 0, 0, 1, time.UTC),
		time.Date(1999, 12, 31, 12, 0, 0, 0, time.UTC),
	} {
		want := at.UTC().Format("2006-01-02T15:04:05.000000000Z07:00")
		if got := string(appendTime(nil, at.UnixNano())); got != want {
			t.Errorf("%v: %q, want %q", at, got, want)
		}
	}
}

// An init spec round-trips; a truncated or foreign one is refused.
func TestParseInitSpec(t *testing.T) {
	f := []string{initSpecMagic, "/run/p", "", "-", "384", "1048576", "3", "rev1", "1",
		"migrate", "/srv", "30", "/l/o", "/l/e", "/bin/sh", "2", "sh", "-c", "1", "A=b",
		"/bin/app", "1", "app"}
	data := []byte(strings.Join(f, "\x00") + "\x00")
	s, ok := parseInitSpec(data)
	if !ok || len(s.steps) != 1 || s.steps[0].timeoutSeconds != 30 || s.steps[0].env[0] != "A=b" || s.path != "/bin/app" || s.mode != 0o600 || s.maxSize != 1<<20 {
		t.Fatalf("%+v, %v", s, ok)
	}
	step := "migrate\x00/srv\x0030\x00/l/o\x00/l/e\x00/bin/sh\x002\x00sh\x00-c\x001\x00A=b\x00"
	many := func(n string, k int) []byte {
		return []byte(strings.Join(f[:8], "\x00") + "\x00" + n + "\x00" + strings.Repeat(step, k) + "/bin/app\x001\x00app\x00")
	}
	if s, ok := parseInitSpec(many("64", 64)); !ok || len(s.steps) != 64 {
		t.Fatalf("64 steps: %v", ok)
	}
	tooMany := many("65", 65) // 64 steps at most
	for _, bad := range [][]byte{data[:len(data)-5], []byte("x\x00"), nil, tooMany} {
		if _, ok := parseInitSpec(bad); ok {
			t.Errorf("%q accepted", bad)
		}
	}
}

// A step's output is cut into lines; a line longer than a piece is cut
// into P pieces; the unfinished tail is written as a full line at the end.
func TestStepLogLines(t *testing.T) {
	dir := t.TempDir()
	s := &initSpec{mode: 0o600, maxSize: 1 << 20, maxFiles: 1}
	l := openStepLog(dir+"/x.log", "stdout", s)
	l.piece = 4
	l.feed([]byte("ab\ncdefg"))
	l.feed([]byte("h\nij"))
	l.close()
	var got []string
	data := readTestFile(t, dir+"/x.log")
	for _, line := range strings.Split(strings.TrimSuffix(data, "\n"), "\n") {
		f := strings.SplitN(line, " ", 4)
		got = append(got, f[2]+":"+f[3])
	}
	if want := "F:ab P:cdef F:gh F:ij"; strings.Join(got, " ") != want {
		t.Fatalf("%q, want %q", got, want)
	}
}

// Past maxSize the file is rotated, keeping maxFiles rotated files.
func TestStepLogRotation(t *testing.T) {
	dir := t.TempDir()
	s := &initSpec{mode: 0o600, maxSize: 200, maxFiles: 2}
	l := openStepLog(dir+"/x.log", "stdout", s)
	for range 20 {
		l.feed([]byte(strings.Repeat("x", 50) + "\n"))
	}
	l.close()
	for _, name := range []string{"x.log", "x.log.1", "x.log.2"} {
		if n := len(readTestFile(t, dir+"/"+name)); n == 0 || n > 200 {
			t.Errorf("%s: %d bytes", name, n)
		}
	}
	if data := readTestFile(t, dir+"/x.log.3"); data != "" {
		t.Errorf("x.log.3 kept")
	}
}

func readTestFile(t *testing.T, path string) string {
	t.Helper()
	fd, err := syscallOpen(path)
	if err != nil {
		return ""
	}
	defer syscall.Close(fd)
	return string(readAll(fd, 1<<20))
}

func syscallOpen(path string) (int, error) { return syscall.Open(path, syscall.O_RDONLY, 0) }
