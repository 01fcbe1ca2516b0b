package main

import (
	"fmt"
	"os"
	"path/filepath"
	"proclet.dev/proclet/runtime/logfile"
	"reflect"
	"strings"
	"testing"
)

// lines builds log lines of instance web-0 from "<id> <seq>" shorthands;
// any other text is taken as is.
func lines(specs ...string) []logLine {
	var out []logLine
	for i, s := range specs {
		text := s
		var id string
		var seq int
		if n, _ := fmt.Sscanf(s, "%s %d", &id, &seq); n == 2 && strings.Contains(id, ".") && !strings.Contains(s, "stdout") {
			text = fmt.Sprintf("web-0 %s stdout %d", id, seq)
		}
		out = append(out, logLine{file: "web-0.stdout.log", no: i + 1, text: text})
	}
	return out
}

func TestCheckLogLines(t *testing.T) {
	for _, tc := range []struct {
		name     string
		lines    []logLine
		breaches []string // substrings, one per breach, in order
		cuts     int
	}{
		{name: "one run", lines: lines("10.1 1", "10.1 2", "10.1 3")},
		{name: "two runs interleaved", lines: lines("10.1 1", "11.2 1", "10.1 2", "11.2 2", "10.1 3")},
		{name: "a missing tail is fine", lines: lines("10.1 1", "10.1 2", "11.2 1")},
		{name: "gap", lines: lines("10.1 1", "10.1 2", "10.1 5"), breaches: []string{"gap, seq 3..4 missing"}},
		// A daemon killed between writing a round and taking it out of the
		// pipe writes it again, whole: allowed (docs/logging.md).
		{name: "the last round again", lines: lines("10.1 1", "10.1 2", "10.1 3", "10.1 2", "10.1 3", "10.1 4")},
		{name: "the last line again", lines: lines("10.1 1", "10.1 2", "10.1 2", "10.1 3")},
		{name: "a round again, not whole", lines: lines("10.1 1", "10.1 2", "10.1 3", "10.1 2", "10.1 4"), breaches: []string{"seq 4 in the round written again, want 3"}},
		{name: "an older line again", lines: lines("10.1 1", "10.1 2", "10.1 3", "10.1 1", "10.1 4"), breaches: []string{"seq 4 in the round written again, want 2"}},
		{name: "reordered", lines: lines("10.1 1", "10.1 3", "10.1 2"), breaches: []string{"gap, seq 2..2", "seq 2..3 again, stopping at seq 2"}},
		{name: "head missing", lines: lines("10.1 4", "10.1 5"), breaches: []string{"starts at seq 4"}},
		{name: "the same pid, another run", lines: lines("10.1 1", "10.1 2", "10.9 1", "10.9 2")},
		{name: "another instance's line", lines: lines("10.1 1", "web-1 12.1 stdout 1"), breaches: []string{"a line of instance web-1"}},
		{name: "malformed", lines: lines("10.1 1", "garbage"), breaches: []string{"malformed"}},
		{name: "cut tail", lines: lines("10.1 1", "10.1 2", "web-0 10.1 stdo", "11.2 1"), cuts: 1},
		{name: "cut in the middle", lines: lines("10.1 1", "web-0 10.1 stdout", "10.1 2"), breaches: []string{"goes on after a cut line"}, cuts: 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rep := checkLogLines("web-0", tc.lines)
			if len(rep.breaches) != len(tc.breaches) {
				t.Fatalf("breaches %q, want %d like %q", rep.breaches, len(tc.breaches), tc.breaches)
			}
			for i, want := range tc.breaches {
				if !strings.Contains(rep.breaches[i], want) {
					t.Errorf("breach %d: %q, want it to say %q", i, rep.breaches[i], want)
				}
			}
			if rep.cutTails != tc.cuts {
				t.Errorf("cut tails %d, want %d", rep.cutTails, tc.cuts)
			}
		})
	}
}

func TestCheckLogLinesOpenLine(t *testing.T) {
	l := lines("10.1 1", "10.1 2")
	// The newest file's last line, still being written: not a breach, not a cut.
	for _, partial := range []string{"web-0 10.1 std", "web-0 11.", "web"} {
		rep := checkLogLines("web-0", append(l, logLine{file: "f", no: 3, text: partial, open: true}))
		if len(rep.breaches) != 0 || rep.cutTails != 0 {
			t.Errorf("open line %q: breaches %q, cuts %d", partial, rep.breaches, rep.cutTails)
		}
	}
}

func TestCheckLogLinesRuns(t *testing.T) {
	rep := checkLogLines("web-0", lines("10.100 1", "10.100 2", "10.200 1"))
	r := newestRun(rep, 10)
	if r == nil || r.id != "10.200" || r.max != 1 || r.startMs != 200 {
		t.Fatalf("newest run of pid 10: %+v", r)
	}
	if old := rep.runs["10.100"]; old.max != 2 || old.lines != 2 {
		t.Fatalf("run 10.100: %+v", old)
	}
	if newestRun(rep, 11) != nil {
		t.Fatal("a run of pid 11")
	}
}

func TestLogSetOrderAndRead(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("web-0.stdout.log.10", "a\n")
	// Files of an older daemon (bare lines, cut marks), then CRI lines.
	write("web-0.stdout.log.2", "b\nc1"+logfile.CutMark)
	const ts = "2026-12-07T17:20:31.123456789Z "
	write("web-0.stdout.log.1", "c2"+logfile.CutMark+ts+"stdout P c3\n"+ts+"stdout F c4\n"+ts+"stdout F d\n")
	write("web-0.stdout.log", ts+"stdout F e\n"+ts+"proclet F --- started pid 9 revision r ---\n"+ts+"stdout P f\n") // f not finished yet
	write("web-0.stderr.log", ts+"proclet F --- started pid 9 revision r ---\noops\n")                               // the marker is not the instance's
	write("web-1.stdout.log", "")
	write("web-0.stdout.log.x", "not a rotated file\n")

	files, err := logSet(dir, "web-0", "stdout")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range files {
		names = append(names, filepath.Base(f))
	}
	want := []string{"web-0.stdout.log.10", "web-0.stdout.log.2", "web-0.stdout.log.1", "web-0.stdout.log"}
	if !reflect.DeepEqual(names, want) {
		t.Fatalf("order %q, want %q", names, want)
	}
	got, err := readLogSet(files)
	if err != nil {
		t.Fatal(err)
	}
	var texts []string
	for _, l := range got {
		texts = append(texts, l.text)
		if l.open != (l.text == "f") {
			t.Errorf("line %q open=%v", l.text, l.open)
		}
	}
	if !reflect.DeepEqual(texts, []string{"a", "b", "c1c2c3c4", "d", "e", "f"}) { // a cut line is one again
		t.Fatalf("lines %q", texts)
	}
	insts, err := instancesWithLogs(dir, "stdout")
	if err != nil || !reflect.DeepEqual(insts, []string{"web-0", "web-1"}) {
		t.Fatalf("instances %q %v", insts, err)
	}
	errs, err := stderrLines(dir, "web-0")
	if err != nil || !reflect.DeepEqual(errs, []string{"web-0.stderr.log: oops"}) {
		t.Fatalf("stderr %q %v", errs, err)
	}
}
