package server

import (
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// A line written between the query and the answer is not part of a
// --tail answer without -f: tail 2 is two lines, however busy the writer.
func TestAnswerLog_TailEndsWhereTheLogEndedWhenAsked(t *testing.T) {
	path := filepath.Join(t.TempDir(), "web-0.stdout.log")
	line := func(s string) string { return "2026-12-07T20:40:58.885620056Z stdout F " + s + "\n" }
	if err := os.WriteFile(path, []byte(line("one")+line("two")+line("three")), 0o600); err != nil {
		t.Fatal(err)
	}
	segs, err := openSegments(path)
	if err != nil {
		t.Fatal(err)
	}
	defer segs.close()
	q := logQuery{stream: "stdout", tail: 2}
	start, stop, err := logRange(segs, q, "web-0")
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString(line("four")); err != nil {
		t.Fatal(err)
	}
	f.Close()

	rec := httptest.NewRecorder()
	req := httptest.NewRequest("GET", "/api/v1/apps/web/instances/web-0/logs?tail=2", nil)
	(&Server{}).answerLog(req, newStreamWriter(rec, time.Second), segs, q, path, false, start, stop)
	if got := rec.Body.String(); strings.Contains(got, "four") || !strings.Contains(got, "two") || !strings.Contains(got, "three") {
		t.Errorf("tail 2 answered %q, want two and three only", got)
	}
}
