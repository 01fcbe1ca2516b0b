package main

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"proclet.dev/proclet/runtime/logfile"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// A line of the workload with --line-id is "<instance> <pid>.<start ms>
// stdout <seq>": seq counts from 1 in each run of a process, and the
// "<pid>.<start ms>" id tells the runs apart even when a pid is reused.
var lineRE = regexp.MustCompile(`^(\S+) ((\d+)\.(\d+)) stdout (\d+)$`)

// logLine is one line of an instance's log file set.
type logLine struct {
	file string // base name of the file
	no   int    // line number in it, from 1
	text string
	// open: the last line of the newest file, without its newline yet
	// (the daemon may be writing it as we read).
	open bool
	cut  bool // it ended with the cut mark (removed): the next line goes on with it
}

// run is what the logs hold of one run of a process.
type run struct {
	id      string
	pid     int
	startMs int64
	first   int // first seq seen
	max     int // highest seq seen
	lines   int
	cut     bool // ended by a cut line (a prefix of its next line)
	where   string
	// replay is the last seq of a round written again (0: none going on):
	// a daemon killed between writing a round of output and taking it out
	// of the instance's pipe writes that round again (docs/logging.md).
	replay int
}

// maxReplayLines bounds a round written twice: one read of the pipe is at
// most 1 MiB, and a chaos line is well over 20 bytes.
const maxReplayLines = 1 << 20 / 20

// logReport is the result of checking one instance's log file set.
type logReport struct {
	runs     map[string]*run
	lines    int
	cutTails int
	replays  int // rounds written twice at a daemon kill (allowed)
	breaches []string
}

// maxBreachesPerSet caps what one broken file set reports.
const maxBreachesPerSet = 8

// checkLogLines is invariant 4 for one instance's stdout, its file set
// read oldest first. For each run: the first line is seq 1, each next line
// is the previous seq + 1 (no gap, no duplicate, no reordering), and no
// line is of another instance or malformed. What may be missing is a
// run's tail: a process killed while its output was in flight, or one
// still running. A line cut short at the end of a run (a strict prefix of
// its next line) is tolerated as such a tail, and nothing of that run may
// follow it.
func checkLogLines(instance string, lines []logLine) logReport {
	rep := logReport{runs: map[string]*run{}}
	bad := func(l logLine, format string, args ...any) {
		if len(rep.breaches) < maxBreachesPerSet {
			rep.breaches = append(rep.breaches, fmt.Sprintf("%s:%d: ", l.file, l.no)+fmt.Sprintf(format, args...)+fmt.Sprintf(" (line %q)", l.text))
		} else if len(rep.breaches) == maxBreachesPerSet {
			rep.breaches = append(rep.breaches, "... (more breaches in this file set not shown)")
		}
	}
	var order []string
	for _, l := range lines {
		m := lineRE.FindStringSubmatch(l.text)
		if m == nil {
			if r := cutRun(instance, l.text, rep.runs, order); r != nil {
				if !l.open {
					r.cut = true
					rep.cutTails++
				}
				continue
			}
			if l.open && (strings.HasPrefix(l.text, instance+" ") || strings.HasPrefix(instance+" ", l.text)) {
				continue // the start of a line still being written
			}
			bad(l, "malformed line")
			continue
		}
		rep.lines++
		if m[1] != instance {
			bad(l, "a line of instance %s", m[1])
			continue
		}
		id := m[2]
		pid, _ := strconv.Atoi(m[3])
		startMs, _ := strconv.ParseInt(m[4], 10, 64)
		seq, _ := strconv.Atoi(m[5])
		r := rep.runs[id]
		if r == nil {
			r = &run{id: id, pid: pid, startMs: startMs, first: seq, max: seq - 1, where: fmt.Sprintf("%s:%d", l.file, l.no)}
			rep.runs[id] = r
			order = append(order, id)
			if seq != 1 {
				bad(l, "run %s starts at seq %d: lines 1..%d are missing", id, seq, seq-1)
			}
		}
		r.lines++
		switch {
		case r.cut:
			bad(l, "run %s goes on after a cut line", id)
		case r.replay > 0 && seq == r.replay+1:
			r.replay = seq // the round again, line by line
			if seq == r.max {
				r.replay = 0 // and its end: the run goes on
			}
		case r.replay > 0:
			bad(l, "run %s: seq %d in the round written again, want %d", id, seq, r.replay+1)
			r.replay = 0
		case seq == r.max+1:
		case seq <= r.max && r.max-seq < maxReplayLines:
			// A daemon killed between writing a round and taking it out of
			// the pipe: the round (its end is the run's last line) again.
			rep.replays++
			if seq < r.max {
				r.replay = seq
			}
		case seq <= r.max:
			bad(l, "run %s: seq %d again (or out of order) after seq %d", id, seq, r.max)
		default:
			bad(l, "run %s: gap, seq %d..%d missing after seq %d", id, r.max+1, seq-1, r.max)
		}
		r.max = max(r.max, seq)
	}
	for _, id := range order {
		// A round is written again whole: one that stops short was not.
		if r := rep.runs[id]; r.replay > 0 && len(rep.breaches) < maxBreachesPerSet {
			rep.breaches = append(rep.breaches, fmt.Sprintf("%s: run %s: seq %d..%d again, stopping at seq %d (or out of order)", r.where, id, r.replay, r.max, r.replay))
		}
	}
	return rep
}

// cutRun returns the run whose next line text is a strict prefix of, or
// nil. Runs are tried newest first.
func cutRun(instance, text string, runs map[string]*run, order []string) *run {
	for _, id := range slices.Backward(order) {
		r := runs[id]
		next := fmt.Sprintf("%s %s stdout %d", instance, id, r.max+1)
		if len(text) < len(next) && strings.HasPrefix(next, text) && len(text) > len(instance) {
			return r
		}
	}
	return nil
}

// logSet lists the files of one instance's stream, oldest first:
// <base>.log.N ... <base>.log.1, <base>.log.
func logSet(dir, instance, stream string) ([]string, error) {
	base := instance + "." + stream + ".log"
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("log set: %w", err)
	}
	type numbered struct {
		n    int
		name string
	}
	var rotated []numbered
	current := ""
	for _, e := range entries {
		switch name := e.Name(); {
		case name == base:
			current = name
		case strings.HasPrefix(name, base+"."):
			if n, err := strconv.Atoi(strings.TrimPrefix(name, base+".")); err == nil && n > 0 {
				rotated = append(rotated, numbered{n, name})
			}
		}
	}
	slices.SortFunc(rotated, func(a, b numbered) int { return b.n - a.n })
	var out []string
	for _, r := range rotated {
		out = append(out, filepath.Join(dir, r.name))
	}
	if current != "" {
		out = append(out, filepath.Join(dir, current))
	}
	return out, nil
}

// readLogSet reads the files of a set as lines, marking the last line of
// the newest file open when it has no newline yet.
func readLogSet(files []string) ([]logLine, error) {
	var out []logLine
	for fi, path := range files {
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("read log: %w", err)
		}
		text := string(b)
		complete := strings.HasSuffix(text, "\n")
		parts := strings.Split(strings.TrimSuffix(text, "\n"), "\n")
		if text == "" {
			parts = nil
		}
		for i, p := range parts {
			// CRI lines (docs/logging.md); lines without a prefix are an
			// older daemon's, with the old cut mark.
			parsed := logfile.ParseLine([]byte(p))
			if parsed.Stream == logfile.StreamProclet {
				continue // a run's start marker
			}
			last := i == len(parts)-1 && fi == len(files)-1
			l := logLine{file: filepath.Base(path), no: i + 1, text: string(parsed.Text),
				open: last && (!complete || parsed.Partial)}
			if n := len(out); n > 0 && out[n-1].cut {
				// The rest of a line the daemon cut: one line again.
				l.text, l.file, l.no = out[n-1].text+l.text, out[n-1].file, out[n-1].no
				out = out[:n-1]
			}
			l.cut = parsed.Partial && !l.open
			out = append(out, l)
		}
	}
	return out, nil
}

// instancesWithLogs lists the instances that have a log file set of
// stream in an app's log directory.
func instancesWithLogs(dir, stream string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("logs of %s: %w", dir, err)
	}
	seen := map[string]bool{}
	for _, e := range entries {
		name := e.Name()
		i := strings.Index(name, "."+stream+".log")
		if i > 0 {
			seen[name[:i]] = true
		}
	}
	out := make([]string, 0, len(seen))
	for n := range seen {
		out = append(out, n)
	}
	slices.Sort(out)
	return out, nil
}

// stderrLines returns the non-empty lines of an instance's stderr set: the
// workload writes there only when something failed (e.g. its port was
// taken), so each line is worth showing.
func stderrLines(dir, instance string) ([]string, error) {
	files, err := logSet(dir, instance, "stderr")
	if err != nil {
		return nil, err
	}
	var out []string
	for _, path := range files {
		f, err := os.Open(path)
		if err != nil {
			return nil, fmt.Errorf("read log: %w", err)
		}
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			l := logfile.ParseLine(sc.Bytes())
			if l.Stream == logfile.StreamProclet {
				continue // a run's start marker, the daemon's
			}
			if t := strings.TrimSpace(string(l.Text)); t != "" {
				out = append(out, filepath.Base(path)+": "+t)
			}
		}
		f.Close()
	}
	return out, nil
}
