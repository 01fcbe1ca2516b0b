package server

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	goruntime "runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// logFixture is a server whose logs live in a temp dir.
type logFixture struct {
	s      *Server
	dir    string
	active atomic.Int32 // requests being served (through handler)
}

func newLogFixture(t *testing.T, opts Options) *logFixture {
	t.Helper()
	f := &logFixture{dir: t.TempDir()}
	if opts.Status == nil {
		opts.Status = newFake()
	}
	opts.LogPath = func(app, inst, stream string) string {
		return filepath.Join(f.dir, app, inst+"."+stream+".log")
	}
	f.s = New(opts)
	f.s.t.poll = 5 * time.Millisecond
	return f
}

func (f *logFixture) path(inst, stream string) string {
	return filepath.Join(f.dir, strings.Split(inst, "-")[0], inst+"."+stream+".log")
}

// handler counts the requests in flight, to see a follow end server-side.
func (f *logFixture) handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.active.Add(1)
		defer f.active.Add(-1)
		f.s.ServeHTTP(w, r)
	})
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func appendFile(t *testing.T, path, content string) {
	t.Helper()
	fh, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	if _, err := fh.WriteString(content); err != nil {
		t.Fatal(err)
	}
}

// eventually polls cond until it holds or the deadline passes.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond) // a poll interval, not a wait for an event
	}
}

func lines(from, to int) string {
	var b strings.Builder
	for i := from; i <= to; i++ {
		fmt.Fprintf(&b, "line %d\n", i)
	}
	return b.String()
}

func TestLogs_Answers(t *testing.T) {
	f := newLogFixture(t, Options{})
	writeFile(t, f.path("web-0", "stdout")+".2", lines(1, 3))
	writeFile(t, f.path("web-0", "stdout")+".1", lines(4, 6))
	writeFile(t, f.path("web-0", "stdout"), lines(7, 8))
	writeFile(t, f.path("web-0", "stderr"), "oops\n")
	writeFile(t, f.path("web-0", "stdout")+".4", "beyond a gap: never read\n")
	base := "/api/v1/apps/web/instances/web-0/logs"
	tests := []struct {
		name   string
		path   string
		status int
		body   string
	}{
		{"everything, rotated files first", base, 200, lines(1, 8)},
		{"tail in the current file", base + "?tail=2", 200, lines(7, 8)},
		{"tail across rotated files", base + "?tail=4", 200, lines(5, 8)},
		{"tail beyond everything", base + "?tail=100", 200, lines(1, 8)},
		{"tail 0", base + "?tail=0", 200, ""},
		{"stderr", base + "?stream=stderr", 200, "oops\n"},
		{"follow=false", base + "?follow=false&tail=1", 200, lines(8, 8)},
		{"no file yet", "/api/v1/apps/web/instances/web-1/logs", 200, ""},
		{"unknown app", "/api/v1/apps/nope/instances/nope-0/logs", 404, `app \"nope\" not found`},
		{"unknown instance", "/api/v1/apps/web/instances/web-9/logs", 404, `instance \"web-9\" of app \"web\" not found`},
		{"another app's instance", "/api/v1/apps/web/instances/worker-0/logs", 404, "NotFound"},
		{"bad stream", base + "?stream=stdin", 400, "BadRequest"},
		{"bad tail", base + "?tail=-1", 400, "BadRequest"},
		{"bad tail word", base + "?tail=all", 400, "BadRequest"},
		{"bad follow", base + "?follow=maybe", 400, "BadRequest"},
		{"bad instance name", "/api/v1/apps/web/instances/web..0/logs", 400, "BadRequest"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := get(t, f.s, "GET", tt.path)
			if rec.Code != tt.status {
				t.Fatalf("status %d, want %d: %s", rec.Code, tt.status, rec.Body)
			}
			if tt.status == 200 {
				if rec.Body.String() != tt.body {
					t.Errorf("body %q, want %q", rec.Body, tt.body)
				}
				if ct := rec.Header().Get("Content-Type"); ct != "text/plain; charset=utf-8" {
					t.Errorf("Content-Type %q", ct)
				}
			} else if !strings.Contains(rec.Body.String(), tt.body) {
				t.Errorf("body %s lacks %s", rec.Body, tt.body)
			}
		})
	}
}

func TestLogs_TailOfAHugeFileInBoundedMemory(t *testing.T) {
	f := newLogFixture(t, Options{})
	path := f.path("web-0", "stdout")
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	fh, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	const n = 1_400_000 // ~20 MB
	line := []byte("line 00000000 of the big file\n")
	buf := make([]byte, 0, 1<<20)
	for i := 1; i <= n; i++ {
		for j, v := 12, i; j >= 5; j, v = j-1, v/10 { // the 8 digits, without fmt: fast under -race
			line[j] = byte('0' + v%10)
		}
		if buf = append(buf, line...); len(buf)+len(line) > cap(buf) || i == n {
			if _, err := fh.Write(buf); err != nil {
				t.Fatal(err)
			}
			buf = buf[:0]
		}
	}
	fh.Close()
	if st, _ := os.Stat(path); st.Size() < 20<<20 {
		t.Fatalf("file is %d bytes, want >= 20 MiB", st.Size())
	}

	var before, after goruntime.MemStats
	goruntime.GC()
	goruntime.ReadMemStats(&before)
	rec := get(t, f.s, "GET", "/api/v1/apps/web/instances/web-0/logs?tail=3")
	goruntime.ReadMemStats(&after)
	want := fmt.Sprintf("line %08d of the big file\nline %08d of the big file\nline %08d of the big file\n", n-2, n-1, n)
	if rec.Code != 200 || rec.Body.String() != want {
		t.Fatalf("%d %q, want %q", rec.Code, rec.Body, want)
	}
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 1<<20 {
		t.Errorf("tail allocated %d bytes for a 20 MiB file, want < 1 MiB", alloc)
	}

	// A tail that spans many chunks is exact too.
	rec = get(t, f.s, "GET", "/api/v1/apps/web/instances/web-0/logs?tail=5000")
	got := strings.Split(strings.TrimSuffix(rec.Body.String(), "\n"), "\n")
	if len(got) != 5000 || got[0] != fmt.Sprintf("line %08d of the big file", n-4999) {
		t.Errorf("tail=5000: %d lines, first %q", len(got), got[0])
	}
}

func TestLogs_LastLineWithoutNewline(t *testing.T) {
	f := newLogFixture(t, Options{})
	writeFile(t, f.path("web-0", "stdout"), "a\nb\nunfinished")
	if rec := get(t, f.s, "GET", "/api/v1/apps/web/instances/web-0/logs?tail=2"); rec.Body.String() != "b\nunfinished" {
		t.Errorf("tail=2: %q", rec.Body)
	}
}

// follow starts a follow request; it returns a line reader and a cancel.
func follow(t *testing.T, srv *httptest.Server, query string) (*bufio.Reader, context.CancelFunc) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL+"/api/v1/apps/web/instances/web-0/logs?follow=true&"+query, nil)
	resp, err := srv.Client().Do(req)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	if resp.StatusCode != 200 {
		b, _ := io.ReadAll(resp.Body)
		cancel()
		t.Fatalf("follow: %d %s", resp.StatusCode, b)
	}
	t.Cleanup(func() { cancel(); resp.Body.Close() })
	return bufio.NewReader(resp.Body), cancel
}

func expectLines(t *testing.T, r *bufio.Reader, want string) {
	t.Helper()
	for _, w := range strings.SplitAfter(want, "\n") {
		if w == "" {
			continue
		}
		got, err := r.ReadString('\n')
		if err != nil || got != w {
			t.Fatalf("read %q (%v), want %q", got, err, w)
		}
	}
}

func TestLogs_FollowSeesNewLinesAndEndsWithTheClient(t *testing.T) {
	f := newLogFixture(t, Options{})
	srv := httptest.NewServer(f.handler())
	t.Cleanup(srv.Close) // after the follows' cleanups
	path := f.path("web-0", "stdout")
	writeFile(t, path, lines(1, 5))

	r, cancel := follow(t, srv, "tail=2")
	expectLines(t, r, lines(4, 5))
	appendFile(t, path, lines(6, 6))
	expectLines(t, r, lines(6, 6))
	appendFile(t, path, lines(7, 9))
	expectLines(t, r, lines(7, 9))

	if n := f.active.Load(); n != 1 {
		t.Fatalf("%d requests in flight, want 1", n)
	}
	cancel()
	eventually(t, "the follow to end server-side", func() bool { return f.active.Load() == 0 })
	if !f.s.streams.tryAcquire() {
		t.Fatal("the stream slot was not released")
	}
	f.s.streams.release()
}

func TestLogs_FollowAcrossRotation(t *testing.T) {
	f := newLogFixture(t, Options{})
	srv := httptest.NewServer(f.handler())
	t.Cleanup(srv.Close) // after the follows' cleanups
	path := f.path("web-0", "stdout")
	writeFile(t, path, lines(1, 2))

	r, _ := follow(t, srv, "")
	expectLines(t, r, lines(1, 2))
	// Rotate as the runtime does: close, rename to .1, create anew.
	appendFile(t, path, lines(3, 3))
	if err := os.Rename(path, path+".1"); err != nil {
		t.Fatal(err)
	}
	writeFile(t, path, lines(4, 5))
	expectLines(t, r, lines(3, 5))
	appendFile(t, path, lines(6, 6))
	expectLines(t, r, lines(6, 6))
	// Twice.
	if err := os.Rename(path, path+".1"); err != nil {
		t.Fatal(err)
	}
	writeFile(t, path, lines(7, 7))
	expectLines(t, r, lines(7, 7))
}

func TestLogs_ReopenAfterTruncation(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.log")
	writeFile(t, path, lines(1, 3))
	cur, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer cur.Close()
	if _, err := io.Copy(io.Discard, cur); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(path, 0); err != nil {
		t.Fatal(err)
	}
	appendFile(t, path, "new\n")
	next, err := reopen(path, cur)
	if next != nil || err != nil {
		t.Fatalf("reopen of the same file: %v %v", next, err)
	}
	b, _ := io.ReadAll(cur)
	if string(b) != "new\n" {
		t.Errorf("after truncation read %q", b)
	}
	// And a rotation gives the new file.
	if err := os.Rename(path, path+".1"); err != nil {
		t.Fatal(err)
	}
	writeFile(t, path, "rotated\n")
	next, err = reopen(path, cur)
	if next == nil || err != nil {
		t.Fatalf("reopen after rotation: %v %v", next, err)
	}
	defer next.Close()
	if b, _ := io.ReadAll(next); string(b) != "rotated\n" {
		t.Errorf("new file read %q", b)
	}
}

func TestLogs_FollowBeforeTheFileExists(t *testing.T) {
	f := newLogFixture(t, Options{})
	srv := httptest.NewServer(f.handler())
	t.Cleanup(srv.Close) // after the follows' cleanups
	r, _ := follow(t, srv, "stream=stderr")
	writeFile(t, f.path("web-0", "stderr"), lines(1, 2))
	expectLines(t, r, lines(1, 2))
}

func TestLogs_StreamCap(t *testing.T) {
	f := newLogFixture(t, Options{MaxStreams: 1})
	srv := httptest.NewServer(f.handler())
	t.Cleanup(srv.Close) // after the follows' cleanups
	writeFile(t, f.path("web-0", "stdout"), lines(1, 1))
	r, cancel := follow(t, srv, "")
	expectLines(t, r, lines(1, 1))

	for _, p := range []string{"/api/v1/apps/web/instances/web-0/logs?follow=true", "/api/v1/watch"} {
		req, _ := http.NewRequest("GET", srv.URL+p, nil)
		req.Header.Set("Connection", "Upgrade")
		req.Header.Set("Upgrade", "websocket")
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusTooManyRequests || !strings.Contains(string(body), `"TooManyRequests"`) ||
			resp.Header.Get("Content-Type") != "application/json" {
			t.Errorf("%s over the cap: %d %s", p, resp.StatusCode, body)
		}
	}
	// A log without follow is not a stream.
	if rec := get(t, f.s, "GET", "/api/v1/apps/web/instances/web-0/logs"); rec.Code != 200 {
		t.Errorf("plain log over the stream cap: %d", rec.Code)
	}
	cancel()
	eventually(t, "the slot to be free", func() bool {
		if f.s.streams.tryAcquire() {
			f.s.streams.release()
			return true
		}
		return false
	})
}

func TestLogs_HeadDoesNotStream(t *testing.T) {
	f := newLogFixture(t, Options{})
	writeFile(t, f.path("web-0", "stdout"), lines(1, 3))
	rec := get(t, f.s, "HEAD", "/api/v1/apps/web/instances/web-0/logs?follow=true")
	if rec.Code != 200 || rec.Body.Len() != 0 || rec.Header().Get("Content-Type") != "text/plain; charset=utf-8" {
		t.Errorf("HEAD: %d %q %v", rec.Code, rec.Body, rec.Header())
	}
}

// A log read holds every file of the log open while it sends them: reads
// are capped, apart from the streams.
func TestLogs_ReadCap(t *testing.T) {
	f := newLogFixture(t, Options{})
	writeFile(t, f.path("web-0", "stdout"), lines(1, 1))
	for range MaxLogReads {
		if !f.s.logReads.tryAcquire() {
			t.Fatal("fewer log read slots than MaxLogReads")
		}
	}
	rec := get(t, f.s, "GET", "/api/v1/apps/web/instances/web-0/logs")
	if rec.Code != http.StatusTooManyRequests || !strings.Contains(rec.Body.String(), "too many log reads at once (limit 32)") ||
		rec.Header().Get("Retry-After") == "" {
		t.Errorf("a log read over the cap: %d %s", rec.Code, rec.Body)
	}
	f.s.logReads.release()
	if rec := get(t, f.s, "GET", "/api/v1/apps/web/instances/web-0/logs"); rec.Code != 200 {
		t.Errorf("a log read under the cap: %d %s", rec.Code, rec.Body)
	}
}
