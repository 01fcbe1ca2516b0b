package client

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"sync"
	"testing"
	"time"
)

// lockedBuffer is an io.Writer the test can poll while CopyLines writes.
type lockedBuffer struct {
	mu      sync.Mutex // guards b
	b       bytes.Buffer
	changed chan struct{}
}

func newLockedBuffer() *lockedBuffer { return &lockedBuffer{changed: make(chan struct{}, 1)} }

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	select {
	case l.changed <- struct{}{}:
	default:
	}
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// waitFor waits until the buffer holds want, or fails after a deadline.
func (l *lockedBuffer) waitFor(t *testing.T, want string) {
	t.Helper()
	deadline := time.NewTimer(5 * time.Second)
	defer deadline.Stop()
	for !strings.Contains(l.String(), want) {
		select {
		case <-l.changed:
		case <-deadline.C:
			t.Fatalf("output %q never held %q", l.String(), want)
		}
	}
}

func TestCopyLines_NeverInterleavesPartialLines(t *testing.T) {
	ar, aw := io.Pipe()
	br, bw := io.Pipe()
	out := newLockedBuffer()
	done := make(chan error, 1)
	go func() {
		done <- CopyLines(out, []LineSource{{Prefix: "[web-0] ", R: ar}, {Prefix: "[web-1] ", R: br}})
	}()

	write := func(w io.Writer, s string) {
		t.Helper()
		if _, err := io.WriteString(w, s); err != nil {
			t.Fatal(err)
		}
	}
	write(aw, "hel")        // half a line from web-0 ...
	write(bw, "one\ntwo\n") // ... does not hold up web-1's whole lines
	out.waitFor(t, "[web-1] two\n")
	write(aw, "lo\nlast words") // the rest, then a line without a newline
	aw.Close()
	out.waitFor(t, "[web-0] last words\n")
	bw.Close()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	want := "[web-1] one\n[web-1] two\n[web-0] hello\n[web-0] last words\n"
	if got := out.String(); got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestCopyLines_CutsLongLines(t *testing.T) {
	long := strings.Repeat("x", MaxLine+10) + "\n"
	var out bytes.Buffer
	if err := CopyLines(&out, []LineSource{{Prefix: "> ", R: strings.NewReader(long)}}); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	if len(lines) != 2 || len(lines[0]) != 2+MaxLine || lines[1] != "> xxxxxxxxxx" {
		t.Errorf("got %d lines, lengths %d", len(lines), len(lines[0]))
	}
}

func TestCopyLines_ReportsSourceErrors(t *testing.T) {
	r, w := io.Pipe()
	w.CloseWithError(errors.New("connection reset"))
	var out bytes.Buffer
	err := CopyLines(&out, []LineSource{{Prefix: "[web-3] ", R: r}, {Prefix: "[web-4] ", R: strings.NewReader("ok\n")}})
	if err == nil || err.Error() != "web-3: connection reset" {
		t.Errorf("err = %v", err)
	}
	if out.String() != "[web-4] ok\n" {
		t.Errorf("out = %q", out.String())
	}
}
