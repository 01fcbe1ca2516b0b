package server

import (
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
	"time"

	"proclet.dev/proclet/runtime/logfile"
)

// cri is a line of a log file in the CRI format, at t.
func cri(t time.Time, stream, tag, text string) string {
	return t.UTC().Format(logfile.TimeLayout) + " " + stream + " " + tag + " " + text + "\n"
}

// A file that began before the CRI format (plain lines) and goes on in
// it, with a start marker and a cut line: every view of it.
func TestLogs_TimestampsSinceJSON(t *testing.T) {
	f := newLogFixture(t, Options{})
	now := time.Now()
	t0, t1 := now.Add(-time.Hour), now.Add(-time.Minute)
	mark := logfile.StartMark(7, "r2")
	writeFile(t, f.path("web-0", "stdout"), "old\n"+cri(t0, "stdout", "F", "a")+
		cri(t1, "proclet", "F", mark)+cri(t1, "stdout", "P", "b")+cri(t1, "stdout", "F", "c"))
	ts := func(t time.Time) string { return t.UTC().Format(logfile.TimeLayout) + " " }
	base := "/api/v1/apps/web/instances/web-0/logs"
	for _, tc := range []struct{ query, want string }{
		{"", "old\na\nbc\n"},
		{"?since=10m", "bc\n"},
		{"?since=" + t0.Add(-time.Second).UTC().Format(time.RFC3339), "a\nbc\n"},
		{"?since=" + t1.UTC().Format(time.RFC3339Nano), "bc\n"},
		{"?timestamps=true", noTime + "old\n" + ts(t0) + "a\n" + ts(t1) + mark + "\n" + ts(t1) + "bc\n"},
		{"?timestamps=true&since=10m", ts(t1) + mark + "\n" + ts(t1) + "bc\n"},
		{"?tail=1", "bc\n"}, // the cut line is one line, the marker none
		{"?tail=2", "a\nbc\n"},
	} {
		rec := get(t, f.s, "GET", base+tc.query)
		if rec.Code != 200 || rec.Body.String() != tc.want {
			t.Errorf("%s: %d %q, want %q", tc.query, rec.Code, rec.Body, tc.want)
		}
	}
	rec := get(t, f.s, "GET", base+"?format=json&since=2h")
	if ct := rec.Header().Get("Content-Type"); ct != "application/x-ndjson" {
		t.Errorf("Content-Type %q", ct)
	}
	var got []jsonLine
	for _, l := range strings.Split(strings.TrimSuffix(rec.Body.String(), "\n"), "\n") {
		var j jsonLine
		if err := json.Unmarshal([]byte(l), &j); err != nil {
			t.Fatalf("%q: %v", l, err)
		}
		got = append(got, j)
	}
	if len(got) != 3 || got[0].Line != "a" || got[1].Stream != "proclet" || got[1].Line != mark ||
		got[2].Line != "bc" || got[2].Stream != "stdout" || got[2].Instance != "web-0" || !got[2].Time.Equal(t1.Truncate(0)) {
		t.Errorf("json %s", rec.Body)
	}
	for _, q := range []string{"?since=yesterday", "?since=-5m", "?format=xml", "?previous=perhaps", "?timestamps=2"} {
		if rec := get(t, f.s, "GET", base+q); rec.Code != 400 {
			t.Errorf("%s: %d, want 400", q, rec.Code)
		}
	}
}

// --previous: the lines between the last two start markers, as the
// writer puts them, across rotated files; none before a second start.
func TestLogs_Previous(t *testing.T) {
	f := newLogFixture(t, Options{})
	base := "/api/v1/apps/web/instances/web-0/logs?previous=true"
	l := logfile.NewFile(f.path("web-0", "stdout"), 200, 10, slog.New(slog.DiscardHandler))
	defer l.Close()
	l.Mark(logfile.StartMark(1, "r1"))
	l.Write([]byte("first run\n"))
	if rec := get(t, f.s, "GET", base); rec.Code != 404 || !strings.Contains(rec.Body.String(), "no previous run") {
		t.Errorf("one run: %d %s, want 404", rec.Code, rec.Body)
	}
	l.Write([]byte("crashing\nnow\n"))
	l.Mark(logfile.StartMark(2, "r1"))
	l.Write([]byte("second run\n"))
	for q, want := range map[string]string{"": "first run\ncrashing\nnow\n", "&tail=1": "now\n", "&since=1h": "first run\ncrashing\nnow\n"} {
		if rec := get(t, f.s, "GET", base+q); rec.Code != 200 || rec.Body.String() != want {
			t.Errorf("previous%s: %d %q, want %q", q, rec.Code, rec.Body, want)
		}
	}
	l.Mark(logfile.StartMark(3, "r2"))
	if rec := get(t, f.s, "GET", base+"&timestamps=true"); rec.Code != 200 ||
		!strings.HasPrefix(rec.Body.String()[len(noTime):], "--- started pid 2 revision r1 ---\n") ||
		!strings.HasSuffix(rec.Body.String(), "Z second run\n") || strings.Contains(rec.Body.String(), "first") {
		t.Errorf("previous with timestamps: %d %q", rec.Code, rec.Body)
	}
}

// The log of an instance the daemon no longer has (an app removed, an
// instance scaled down) is read from its files while they are there; a
// name that is not an app's or instance's is never taken for a path.
func TestLogs_GoneInstanceReadFromItsFiles(t *testing.T) {
	f := newLogFixture(t, Options{})
	writeFile(t, f.path("gone-0", "stdout"), cri(time.Now(), "stdout", "F", "bye"))
	writeFile(t, f.path("web-5", "stderr")+".1", cri(time.Now(), "stderr", "F", "scaled down"))
	for path, want := range map[string]string{
		"/api/v1/apps/gone/instances/gone-0/logs":                "bye\n",
		"/api/v1/apps/web/instances/web-5/logs?stream=stderr":    "scaled down\n",
		"/api/v1/apps/gone/instances/gone-0/logs?stream=stderr":  "404",
		"/api/v1/apps/gone/instances/gone-1/logs":                "404",
		"/api/v1/apps/web/instances/web-5/logs":                  "404",
		"/api/v1/apps/gone/instances/..%2F..%2Fweb%2Fweb-0/logs": "404",
		"/api/v1/apps/Gone/instances/gone-0/logs":                "404",
	} {
		rec := get(t, f.s, "GET", path)
		if want == "404" {
			if rec.Code == 200 {
				t.Errorf("%s: %d %q, want refused", path, rec.Code, rec.Body)
			}
			continue
		}
		if rec.Code != 200 || rec.Body.String() != want {
			t.Errorf("%s: %d %q, want %q", path, rec.Code, rec.Body, want)
		}
	}
}

// Bounds of the view: a cut line is joined into JSON records of at most
// maxJSONLine, partial on all but the last; a foreign line without a
// newline is passed on in pieces of maxViewLine, never held whole.
func TestLogs_ViewBounds(t *testing.T) {
	f := newLogFixture(t, Options{})
	now := time.Now()
	piece := strings.Repeat("x", 64<<10)
	var b strings.Builder
	for range 5 { // 320 KiB of one line
		b.WriteString(cri(now, "stdout", "P", piece))
	}
	b.WriteString(cri(now, "stdout", "F", "end"))
	writeFile(t, f.path("web-0", "stdout"), b.String())
	rec := get(t, f.s, "GET", "/api/v1/apps/web/instances/web-0/logs?format=json")
	var recs []jsonLine
	for _, l := range strings.Split(strings.TrimSuffix(rec.Body.String(), "\n"), "\n") {
		var j jsonLine
		if err := json.Unmarshal([]byte(l), &j); err != nil {
			t.Fatal(err)
		}
		recs = append(recs, j)
	}
	if len(recs) != 2 || len(recs[0].Line) != maxJSONLine || !recs[0].Partial || recs[1].Partial ||
		len(recs[0].Line)+len(recs[1].Line) != 5*len(piece)+3 {
		t.Errorf("%d records", len(recs))
	}

	var out strings.Builder
	vw := newViewWriter(&out, logView{})
	huge := []byte(strings.Repeat("y", 4*maxViewLine))
	for i := 0; i < len(huge); i += 1000 {
		vw.Write(huge[i:min(i+1000, len(huge))])
		if len(vw.pending) > maxViewLine {
			t.Fatalf("the view holds %d bytes of one line", len(vw.pending))
		}
	}
	vw.finish()
	if out.String() != string(huge) {
		t.Errorf("a foreign line of %d bytes came out as %d", len(huge), out.Len())
	}
}
