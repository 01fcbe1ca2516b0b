package server

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"proclet.dev/proclet/internal/hostile"
)

// A log file replaced by a link to /dev/zero, a FIFO or a folder is
// refused at once with an error saying so: an answer that never ends (a
// device), a handler blocked in open (a FIFO) or a read error are not.
func TestLogs_NotARegularFile(t *testing.T) {
	for _, c := range hostile.Cases()[1:] { // the sparse file is a regular file: below
		for _, query := range []string{"", "?tail=10", "?follow=true&tail=1"} {
			t.Run(c.Name+query, func(t *testing.T) {
				f := newLogFixture(t, Options{})
				path := f.path("web-0", "stdout")
				if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
					t.Fatal(err)
				}
				c.Make(t, path)
				srv := httptest.NewServer(f.handler())
				defer srv.Close()
				ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
				defer cancel()
				req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL+"/api/v1/apps/web/instances/web-0/logs"+query, nil)
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatalf("no answer: %v", err)
				}
				defer resp.Body.Close()
				body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
				if err != nil || resp.StatusCode != 500 || !strings.Contains(string(body), "the stdout log of web-0 is not a regular file; not read") {
					t.Fatalf("%d %q %v; want 500 saying the log is not a regular file", resp.StatusCode, body, err)
				}
			})
		}
	}
}

// A tail of a 4 GiB sparse log without a newline looks back 256 MiB, not
// the whole file: the answer is the last 256 MiB.
func TestLogs_TailLooksBackABoundedWay(t *testing.T) {
	f := newLogFixture(t, Options{})
	path := f.path("web-0", "stdout")
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	hostile.Cases()[0].Make(t, path)
	srv := httptest.NewServer(f.handler())
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/api/v1/apps/web/instances/web-0/logs?tail=10")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	n, err := io.Copy(io.Discard, io.LimitReader(resp.Body, 300<<20))
	if err != nil || resp.StatusCode != 200 || n != 256<<20 {
		t.Fatalf("%d: %d bytes (%v); want the last 256 MiB", resp.StatusCode, n, err)
	}
}
