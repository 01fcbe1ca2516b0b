package e2e

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"proclet.dev/proclet/apis/v1alpha1"
)

// TestDocs_ExamplesMatchTheBinary runs every `$ proclet ...` line of the
// ```console blocks of README.md and docs/cli.md against the real daemon
// on a copy of the shipped manifests/ and compares the shape of what the
// binary prints with the example: the same free-text lines (numbers,
// PIDs, ages, uids, revisions and times are wildcards), the same table
// headers and, for tables of NAME/FILE/TYPE, the same row names. The
// copy's fixed ports are rewritten to free ones, so the test never
// collides with a developer's `make run`. Examples that need another
// state get it from docSetups; a block under `<!-- not checked: WHY -->`
// is skipped.
func TestDocs_ExamplesMatchTheBinary(t *testing.T) {
	skipShort(t)
	repo, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	copyShippedManifests(t, repo, root)
	d := startDaemon(t, filepath.Join(root, "manifests"))
	t.Cleanup(func() { recordPIDs(d) })
	eventually(t, 40*time.Second, "every shipped app ready", func() bool { return allReady(d) })

	env := &docEnv{t: t, repo: repo, root: root, d: d, vars: map[string]string{}}
	checked := 0
	for _, file := range []string{"README.md", "docs/cli.md"} {
		steps, skipped, err := consoleSteps(filepath.Join(repo, file))
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range skipped {
			t.Logf("not checked (marked in the doc): %s", strings.TrimPrefix(s, repo+"/"))
		}
		for _, s := range steps {
			s.file = file
			if env.run(s) {
				checked++
			}
		}
	}
	t.Logf("%d examples checked against the binary", checked)
	if checked < 30 {
		t.Errorf("only %d examples checked: did the docs' blocks move?", checked)
	}
	checkReadmeTerminalBlock(t, env)
}

// docEnv is what the examples run in: root holds manifests/ (the
// daemon's) and bin/proclet, bin/workload, as the repo does.
type docEnv struct {
	t        *testing.T
	repo     string
	root     string
	d        *daemon
	keyed    *daemon // started by the first example that needs an API key
	flaky    *daemon // started by the first example that needs a crash loop
	vars     map[string]string
	lastExit int
}

// run runs one step; false when the step was not a checked command.
func (e *docEnv) run(s docStep) bool {
	t := e.t
	setup, ok := findSetup(s)
	if s.comment != "" && !ok {
		t.Errorf("%s: no setup in docSetups for %q: add one, or mark the block `<!-- not checked: WHY -->`", s.where(), s.comment)
		return false
	}
	if s.cmd == "" || strings.HasPrefix(s.cmd, "export ") {
		if ok && setup.prepare != nil {
			setup.prepare(e)
		}
		return false
	}
	run := docRun{dir: e.root, server: e.d.base, subst: map[string]string{"/tmp/d": filepath.Join(e.root, "d")}}
	for k, v := range e.vars {
		run.subst[k] = v
	}
	if ok {
		if setup.prepare != nil {
			setup.prepare(e)
		}
		if setup.env != nil {
			setup.env(e, &run)
		}
	}
	cmdline, want := s.cmd, append([]string(nil), s.want...)
	for k, v := range run.subst {
		cmdline = strings.ReplaceAll(cmdline, k, v)
		for i := range want {
			want[i] = strings.ReplaceAll(want[i], k, v)
		}
	}
	s.want = want
	var out string
	if cmdline == "echo $?" {
		out = fmt.Sprintf("%d\n", e.lastExit)
	} else {
		out, e.lastExit = e.shell(run, cmdline)
	}
	got := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if out == "" {
		got = nil
	}
	if m := regexp.MustCompile(`\(revision ([0-9a-f]+)\)`).FindStringSubmatch(out); m != nil && strings.Contains(s.cmd, "rollout restart") {
		if dm := regexp.MustCompile(`\(revision ([0-9a-f]+)\)`).FindStringSubmatch(strings.Join(s.want, "\n")); dm != nil {
			e.vars[dm[1]] = m[1] // later examples name the revision this one printed
		}
	}
	var diff string
	if ok && setup.progress {
		diff = compareProgress(s, got)
	} else {
		diff = compareShape(s, got)
	}
	if diff != "" {
		t.Errorf("%s: $ %s: the example differs from the binary: %s\nthe binary printed:\n%s", s.where(), s.cmd, diff, out)
	}
	return true
}

// docRun is how one example runs: its folder, PROCLET_SERVER, extra env,
// and the doc's paths and revisions replaced by the test's.
type docRun struct {
	dir    string
	server string
	env    []string
	subst  map[string]string
}

// shell runs cmdline with bash (the examples use pipes, `&&` and `;`),
// proclet on PATH; stdout and stderr in one stream, as a terminal shows.
func (e *docEnv) shell(r docRun, cmdline string) (string, int) {
	var buf bytes.Buffer
	cmd := exec.Command("bash", "-c", cmdline)
	cmd.Dir = r.dir
	cmd.Env = append(withoutEnv(os.Environ(), "PROCLET_SERVER", "PROCLET_API_KEY", "PATH"),
		"PATH="+bins.dir+":"+os.Getenv("PATH"), "PROCLET_SERVER="+r.server)
	cmd.Env = append(cmd.Env, r.env...)
	cmd.Stdout, cmd.Stderr = &buf, &buf
	done := make(chan error, 1)
	if err := cmd.Start(); err != nil {
		e.t.Fatal(err)
	}
	go func() { done <- cmd.Wait() }()
	var err error
	select {
	case err = <-done:
	case <-time.After(30 * time.Second):
		_ = cmd.Process.Kill()
		<-done
		e.t.Fatalf("$ %s: still running after 30s:\n%s", cmdline, buf.String())
	}
	var ee *exec.ExitError
	switch {
	case err == nil:
		return buf.String(), 0
	case errors.As(err, &ee):
		return buf.String(), ee.ExitCode()
	}
	e.t.Fatalf("$ %s: %v", cmdline, err)
	return "", 0
}

func withoutEnv(env []string, names ...string) []string {
	var out []string
next:
	for _, kv := range env {
		for _, n := range names {
			if strings.HasPrefix(kv, n+"=") {
				continue next
			}
		}
		out = append(out, kv)
	}
	return out
}

// compareProgress compares a command that prints a line per change
// (rollout status): how many lines depends on timing, so every line must
// be one of the example's (up to wildcards) and the last lines the same.
func compareProgress(s docStep, got []string) string {
	if len(got) == 0 {
		return "no output"
	}
	for _, g := range got {
		found := false
		for _, w := range s.want {
			if linePattern(w).MatchString(g) {
				found = true
				break
			}
		}
		if !found {
			return fmt.Sprintf("%q is none of the example's lines", g)
		}
	}
	if w := s.want[len(s.want)-1]; !linePattern(w).MatchString(got[len(got)-1]) {
		return fmt.Sprintf("%s:%d: want the last line %q, got %q", s.file, s.wantAt[len(s.want)-1], w, got[len(got)-1])
	}
	return ""
}

// checkReadmeTerminalBlock runs the `bin/proclet ...` lines of the
// README's "In another terminal" block: each must exit 0 (PROCLET_SERVER
// stands for the default 127.0.0.1:9090 of `make run`).
func checkReadmeTerminalBlock(t *testing.T, e *docEnv) {
	b, err := os.ReadFile(filepath.Join(e.repo, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	text := string(b)
	i := strings.Index(text, "In another terminal:")
	if i < 0 {
		t.Fatal(`README.md: no "In another terminal:" block`)
	}
	start := i + strings.Index(text[i:], "```sh\n") + len("```sh\n")
	block := text[start : start+strings.Index(text[start:], "```")]
	n := 0
	for j, l := range strings.Split(block, "\n") {
		if !strings.HasPrefix(l, "bin/proclet ") {
			continue
		}
		at := strings.Count(text[:start], "\n") + 1 + j
		l = strings.TrimSpace(commentRE.ReplaceAllString(l, ""))
		if strings.Contains(l, " -f") {
			t.Logf("not checked (it follows until Ctrl-C): README.md:%d", at)
			continue
		}
		n++
		if out, code := e.shell(docRun{dir: e.root, server: e.d.base}, l); code != 0 {
			t.Errorf("README.md:%d: $ %s: exit %d:\n%s", at, l, code, out)
		}
	}
	if n == 0 {
		t.Error("README.md: no bin/proclet line in the \"In another terminal\" block")
	}
}

// copyShippedManifests copies manifests/ into root/manifests with its
// fixed ports (hello's 18080, shared's 18090, web's range 18100-18109)
// moved to free ones, and links root/bin/{proclet,workload}: the
// manifests' ../bin/workload then runs the test's build.
func copyShippedManifests(t *testing.T, repo, root string) {
	files, err := filepath.Glob(filepath.Join(repo, "manifests", "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("the shipped manifests: %v %v", files, err)
	}
	base := freePortRange(t, 12)
	ports := strings.NewReplacer("18080", fmt.Sprint(base), "18090", fmt.Sprint(base+1),
		"18100-18109", fmt.Sprintf("%d-%d", base+2, base+11))
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		writeFile(t, filepath.Join(root, "manifests", filepath.Base(f)), ports.Replace(string(b)))
	}
	if err := os.MkdirAll(filepath.Join(root, "bin"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, b := range []string{bins.proclet, bins.workload} {
		if err := os.Symlink(b, filepath.Join(root, "bin", filepath.Base(b))); err != nil {
			t.Fatal(err)
		}
	}
}

// freePortRange finds n consecutive loopback ports free right now.
func freePortRange(t *testing.T, n int) int {
	for try := 0; try < 50; try++ {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		base := l.Addr().(*net.TCPAddr).Port
		l.Close()
		if base+n > 65535 {
			continue
		}
		ok := true
		for p := base; p < base+n && ok; p++ {
			l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p))
			if ok = err == nil; ok {
				l.Close()
			}
		}
		if ok {
			return base
		}
	}
	t.Fatal("no range of free ports")
	return 0
}

// allReady: every app the daemon runs has all its replicas ready.
func allReady(d *daemon) bool {
	var l struct {
		Items []v1alpha1.App `json:"items"`
	}
	if code, err := d.getJSON("/api/v1/apps", &l); code != 200 || err != nil || len(l.Items) == 0 {
		return false
	}
	recordPIDs(d)
	for _, a := range l.Items {
		if a.Spec.Replicas == nil || a.Status.ReadyReplicas != *a.Spec.Replicas || a.Status.UpdatedReplicas != *a.Spec.Replicas || a.Status.AvailableReplicas != *a.Spec.Replicas {
			return false
		}
	}
	return true
}

// recordPIDs notes every instance's PID, for the harness' cleanup.
func recordPIDs(d *daemon) {
	var l struct {
		Items []v1alpha1.Instance `json:"items"`
	}
	if code, err := d.getJSON("/api/v1/instances", &l); code == 200 && err == nil {
		for _, i := range l.Items {
			if i.PID > 0 {
				seenPIDs.Store(i.PID, true)
			}
		}
	}
}

// docStep is one `$ command` line of a ```console block of a doc, with
// the output lines the doc shows under it.
type docStep struct {
	file    string
	block   int    // the line of the block's opening fence
	line    int    // the command's line in file, 1-based
	cmd     string // without the `$ ` and without a trailing `# comment`
	comment string // the trailing `# comment`, or the whole line of a `$ # ...` step
	want    []string
	wantAt  []int // the doc line of each of want
}

func (s docStep) where() string { return fmt.Sprintf("%s:%d", s.file, s.line) }

var (
	fenceRE      = regexp.MustCompile("^( *)```(\\S*)")
	notCheckedRE = regexp.MustCompile(`<!-- not checked: .+ -->`)
	commentRE    = regexp.MustCompile(`\s+#\s.*$`)
)

// consoleSteps reads the ```console blocks of file. A block right under a
// `<!-- not checked: WHY -->` line is left out (its first line is in
// skipped).
func consoleSteps(file string) (steps []docStep, skipped []string, err error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, nil, err
	}
	lines := strings.Split(string(b), "\n")
	for i := 0; i < len(lines); i++ {
		m := fenceRE.FindStringSubmatch(lines[i])
		if m == nil {
			continue
		}
		indent, lang := len(m[1]), m[2]
		end := i + 1
		for end < len(lines) && strings.TrimSpace(lines[end]) != "```" {
			end++
		}
		body := lines[i+1 : end]
		start := i
		i = end
		if lang != "console" {
			continue
		}
		if i0 := start - 1; i0 >= 0 && notCheckedRE.MatchString(lines[i0]) ||
			start >= 2 && strings.TrimSpace(lines[start-1]) == "" && notCheckedRE.MatchString(lines[start-2]) {
			skipped = append(skipped, fmt.Sprintf("%s:%d", file, start+1))
			continue
		}
		var cur *docStep
		for j, l := range body {
			if len(l) >= indent {
				l = l[indent:]
			}
			at := start + 2 + j
			if strings.HasPrefix(l, "$ ") {
				steps = append(steps, docStep{file: file, block: start + 1, line: at})
				cur = &steps[len(steps)-1]
				c := strings.TrimSpace(l[2:])
				if strings.HasPrefix(c, "#") {
					cur.comment = c
					continue
				}
				if m := commentRE.FindString(c); m != "" {
					cur.comment = strings.TrimSpace(m)
					c = strings.TrimSpace(strings.TrimSuffix(c, m))
				}
				cur.cmd = c
				continue
			}
			if cur == nil {
				return nil, nil, fmt.Errorf("%s:%d: output before any `$ ` command", file, at)
			}
			cur.want = append(cur.want, strings.TrimRight(l, " "))
			cur.wantAt = append(cur.wantAt, at)
		}
	}
	return steps, skipped, nil
}

// A segment of an output: a free-text line, or a table (a header of
// upper-case column names and the rows under it at its indent).
type segment struct {
	text   string // a free-text line, or the table's header
	table  bool
	keys   []string // the tables' row names (first column) when keyed
	keyed  bool     // the first column is NAME, FILE or TYPE
	subset bool     // the doc cut the rows with `...`: its rows are a subset
	cut    bool     // a `...` line: nothing after it is compared
	at     int      // index of the segment's first line in the output
}

var headerColRE = regexp.MustCompile(`^[A-Z][A-Z-]*$`)

func isHeader(l string) bool {
	cols := regexp.MustCompile(`\s{2,}`).Split(strings.TrimSpace(l), -1)
	if len(cols) < 2 {
		return false
	}
	for _, c := range cols {
		if !headerColRE.MatchString(c) {
			return false
		}
	}
	return true
}

func indentOf(l string) int { return len(l) - len(strings.TrimLeft(l, " ")) }

// segments splits an output into free-text lines and tables.
func segments(lines []string) []segment {
	var out []segment
	for i := 0; i < len(lines); i++ {
		l := lines[i]
		if strings.TrimSpace(l) == "..." {
			out = append(out, segment{cut: true, at: i})
			continue
		}
		if !isHeader(l) {
			out = append(out, segment{text: l, at: i})
			continue
		}
		first := strings.Fields(l)[0]
		s := segment{text: strings.Join(strings.Fields(l), " "), table: true, at: i,
			keyed: first == "NAME" || first == "FILE" || first == "TYPE"}
		ind := indentOf(l)
		for i+1 < len(lines) && strings.TrimSpace(lines[i+1]) != "" && indentOf(lines[i+1]) == ind {
			i++
			if strings.TrimSpace(lines[i]) == "..." {
				s.subset = true
				break
			}
			s.keys = append(s.keys, strings.Fields(lines[i])[0])
		}
		out = append(out, s)
	}
	return out
}

// wildRE finds what changes from run to run in a free-text line: uids,
// times, versions, revisions and other hex digests, numbers with their
// unit (PIDs, ages, sizes, ports, counts).
var wildRE = regexp.MustCompile(`[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}` +
	`|\d{4}-\d\d-\d\dT[0-9:.]+Z` +
	`|v\d+\.\d+\.\d+[^\s)]*` +
	`|\b[0-9a-f]*[0-9][0-9a-f]*[a-f][0-9a-f]*\b|\b[0-9a-f]*[a-f][0-9a-f]*[0-9][0-9a-f]*\b` +
	`|\d+(?:\.\d+)?(?:[a-zA-Z%]+(?:\d+[a-zA-Z]+)*)?`)

// linePattern is the regexp a free-text line of a doc stands for.
func linePattern(want string) *regexp.Regexp {
	var b strings.Builder
	b.WriteString("^")
	last := 0
	for _, m := range wildRE.FindAllStringIndex(want, -1) {
		b.WriteString(regexp.QuoteMeta(want[last:m[0]]))
		tok := want[m[0]:m[1]]
		switch {
		case len(tok) == 36 && strings.Count(tok, "-") == 4:
			b.WriteString(`[0-9a-f-]{36}`)
		case strings.Contains(tok, "T") && strings.HasSuffix(tok, "Z"):
			b.WriteString(`\d{4}-\d\d-\d\dT[0-9:.]+Z`)
		case strings.HasPrefix(tok, "v"):
			b.WriteString(`v\d+\.\d+\.\d+[^\s)]*`)
		case len(tok) >= 7 && strings.Trim(tok, "0123456789abcdef") == "" && strings.Trim(tok, "0123456789") != "":
			b.WriteString(`[0-9a-f]{7,64}`)
		case tok[0] >= '0' && tok[0] <= '9':
			b.WriteString(`\d+(?:\.\d+)?(?:[a-zA-Z%]+(?:\d+[a-zA-Z]+)*)?`)
		default:
			b.WriteString(regexp.QuoteMeta(tok))
		}
		last = m[1]
	}
	b.WriteString(regexp.QuoteMeta(want[last:]))
	b.WriteString("$")
	return regexp.MustCompile(b.String())
}

// compareShape says where got differs in shape from the doc's want, or
// "" when it does not: the same free-text lines (up to wildcards), the
// same tables' headers, and their row names when keyed (a subset when
// the doc cut the rows with `...`).
func compareShape(s docStep, got []string) string {
	ws, gs := segments(s.want), segments(got)
	for i, w := range ws {
		at := s.wantAt[w.at]
		if w.cut {
			return ""
		}
		if i >= len(gs) {
			return fmt.Sprintf("%s:%d: want %q, the output ended", s.file, at, s.want[w.at])
		}
		g := gs[i]
		gl := got[g.at]
		switch {
		case w.table != g.table:
			return fmt.Sprintf("%s:%d: want %q, got %q", s.file, at, s.want[w.at], gl)
		case w.table && w.text != g.text:
			return fmt.Sprintf("%s:%d: want the header %q, got %q", s.file, at, w.text, g.text)
		case w.table && w.keyed && !sameKeys(w.keys, g.keys, w.subset):
			return fmt.Sprintf("%s:%d: table %q: want the rows %v, got %v", s.file, at, w.text, w.keys, g.keys)
		case !w.table && !linePattern(w.text).MatchString(strings.TrimRight(g.text, " ")):
			return fmt.Sprintf("%s:%d: want %q, got %q", s.file, at, w.text, gl)
		}
		if w.subset {
			return ""
		}
	}
	if len(gs) > len(ws) {
		return fmt.Sprintf("%s:%d: the output has more than the example's %d line(s): %q", s.file, s.line, len(s.want), got[gs[len(ws)].at])
	}
	return ""
}

func sameKeys(want, got []string, subset bool) bool {
	have := map[string]bool{}
	for _, k := range got {
		have[k] = true
	}
	for _, k := range want {
		if !have[k] {
			return false
		}
		delete(have, k)
	}
	return subset || len(have) == 0
}
