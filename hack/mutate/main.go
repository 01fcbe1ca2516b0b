package main

import (
	"flag"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	goruntime "runtime"
	"slices"
	"strings"
	"sync"
	"time"
)

func main() {
	workers := flag.Int("workers", min(2, goruntime.GOMAXPROCS(0)), "mutants judged at once")
	minScore := flag.Float64("min", 0, "exit 1 when the score (%) is below this")
	eqPath := flag.String("equivalent", "hack/mutate/equivalent.txt", "the accepted equivalent mutants")
	factor := flag.Float64("timeout-factor", 10, "a mutant's tests time out after this many times the unmutated run")
	least := flag.Duration("min-timeout", 30*time.Second, "the least timeout of a mutant's tests")
	list := flag.Bool("list", false, "list the mutants, run nothing")
	verbose := flag.Bool("v", false, "print every mutant's outcome")
	parallel := flag.Int("parallel", 0, "the tests' -test.parallel (0: GOMAXPROCS); tests that mostly wait for processes gain from more")
	only := flag.String("only", "", "judge only the mutants of the SURVIVED lines of this earlier output")
	flag.Usage = func() {
		fmt.Fprintln(flag.CommandLine.Output(), "usage: mutate [flags] file.go[=testregex] ...")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() == 0 {
		flag.Usage()
		os.Exit(2)
	}
	eq, err := readEquivalents(*eqPath)
	if err != nil {
		fatal(err)
	}
	targets, err := loadTargets(flag.Args(), os.Stderr)
	if err != nil {
		fatal(err)
	}
	var keep map[string]bool
	if *only != "" {
		if keep, err = readSurvivors(*only); err != nil {
			fatal(err)
		}
	}
	if *list {
		for _, t := range targets {
			ms, _ := enumerate(t.file, t.src)
			for _, m := range ms {
				o, mu := m.describe(t.src)
				fmt.Printf("%s:%d: %s → %s\n", t.file, m.line, o, mu)
			}
		}
		return
	}
	work, err := os.MkdirTemp("", "proclet-mutate-")
	if err != nil {
		fatal(err)
	}
	defer os.RemoveAll(work)
	becomeSubreaper()
	defer killOrphans()
	r := &tester{goCmd: "go", work: work, parallel: *parallel}
	res := runAll(r, targets, eq, keep, *workers, *factor, *least, *verbose)
	score := res.report(os.Stdout, eq)
	if score < *minScore {
		fmt.Printf("FAIL: score %.1f %% is below %.0f %%\n", score, *minScore)
		killOrphans()
		os.RemoveAll(work)
		os.Exit(1)
	}
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "mutate:", err)
	os.Exit(2)
}

// loadTargets reads each "file[@Func,Func][=testregex]"; a file that does
// not exist is skipped with a warning (it may have moved). With @ only the
// mutants inside those functions (by name, methods too) are judged, by
// that target's tests; a target of the same file without @ judges the rest.
// Tests that cover one function are faster than the whole file's: fewer to
// run, and a shorter timeout for the mutants that hang.
func loadTargets(args []string, warn io.Writer) ([]*target, error) {
	var ts []*target
	for _, a := range args {
		spec, run, _ := strings.Cut(a, "=")
		file, fns, scoped := strings.Cut(spec, "@")
		src, err := os.ReadFile(file)
		if os.IsNotExist(err) {
			fmt.Fprintf(warn, "mutate: warning: %s does not exist: skipped\n", file)
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", file, err)
		}
		abs, err := filepath.Abs(file)
		if err != nil {
			return nil, err
		}
		t := &target{file: filepath.ToSlash(file), label: filepath.ToSlash(spec), abs: abs, pkgDir: filepath.Dir(abs), run: run, src: src}
		if scoped {
			t.funcs = map[string]bool{}
			for _, f := range strings.Split(fns, ",") {
				if f != "" {
					t.funcs[f] = true
				}
			}
			if len(t.funcs) == 0 {
				return nil, fmt.Errorf("%s: no function after @", a)
			}
		}
		ts = append(ts, t)
	}
	for _, t := range ts {
		if t.funcs != nil {
			continue
		}
		for _, o := range ts {
			if o.file == t.file && o.funcs != nil {
				if t.exclude == nil {
					t.exclude = map[string]bool{}
				}
				maps.Copy(t.exclude, o.funcs)
			}
		}
	}
	return ts, nil
}

// result is the outcome of every mutant of every target.
type result struct {
	targets  []*target
	mutants  map[*target][]mutant
	outcomes map[*target][]outcome
}

func runAll(r *tester, targets []*target, eq equivalents, keep map[string]bool, workers int, factor float64, least time.Duration, verbose bool) *result {
	res := &result{targets: targets, mutants: map[*target][]mutant{}, outcomes: map[*target][]outcome{}}
	type job struct {
		t *target
		i int
	}
	var jobs []job
	for _, t := range targets {
		ms, err := enumerate(t.file, t.src)
		if err != nil {
			fatal(err)
		}
		if ms, err = t.scope(ms); err != nil {
			fatal(err)
		}
		if keep != nil {
			ms = slices.DeleteFunc(ms, func(m mutant) bool {
				o, mu := m.describe(t.src)
				return !keep[equivalentKey(t.file, o, mu)]
			})
		}
		t.mutants = ms
		prepare(r, t)
		if err := r.baseline(t, factor, least); err != nil {
			fatal(err)
		}
		fmt.Fprintf(os.Stderr, "mutate: %s: %d mutants (%d in one build, %d do not build), timeout %s\n",
			t.label, len(ms), len(t.inSchema), count(t.buildErr), t.timeout.Round(time.Second))
		res.mutants[t] = ms
		res.outcomes[t] = make([]outcome, len(ms))
		for i := range ms {
			o, mu := ms[i].describe(t.src)
			switch {
			case eq[equivalentKey(t.file, o, mu)] != "":
				res.outcomes[t][i] = survived // accepted: not run, not counted
			case t.buildErr[i]:
				res.outcomes[t][i] = buildError
			default:
				jobs = append(jobs, job{t, i})
			}
		}
	}
	ch := make(chan job)
	var wg sync.WaitGroup
	var mu sync.Mutex
	done := 0
	for w := range max(workers, 1) {
		wg.Go(func() {
			for j := range ch {
				m := res.mutants[j.t][j.i]
				o, err := r.judge(j.t, j.i, w)
				if err != nil {
					fatal(err)
				}
				mu.Lock()
				res.outcomes[j.t][j.i] = o
				done++
				if verbose {
					orig, mut := m.describe(j.t.src)
					fmt.Fprintf(os.Stderr, "[%d/%d] %s:%d: %s: %s → %s\n", done, len(jobs), m.file, m.line, o, orig, mut)
				}
				mu.Unlock()
			}
		})
	}
	for _, j := range jobs {
		ch <- j
	}
	close(ch)
	wg.Wait()
	return res
}

// report prints the survivors, the score per file and in all, and the
// accepted equivalents that match no mutant any more; it returns the score.
func (res *result) report(w io.Writer, eq equivalents) float64 {
	var allKilled, allCounted int
	seen := map[string]bool{}
	for _, t := range res.targets {
		var k, s, to, b, e int
		for i, m := range res.mutants[t] {
			orig, mut := m.describe(t.src)
			key := equivalentKey(t.file, orig, mut)
			if eq[key] != "" {
				seen[key] = true
				e++
				continue
			}
			switch res.outcomes[t][i] {
			case killed:
				k++
			case timedOut:
				to++
			case buildError:
				b++
			case survived:
				s++
				fmt.Fprintf(w, "SURVIVED %s:%d: %s → %s\n", t.file, m.line, orig, mut)
			}
		}
		fmt.Fprintf(w, "%s: score %s (killed %d, timed out %d, survived %d; %d build errors and %d accepted equivalent not counted)\n",
			t.label, percent(k+to, k+to+s), k, to, s, b, e)
		allKilled += k + to
		allCounted += k + to + s
	}
	for key := range eq {
		if !seen[key] && res.covers(key) {
			fmt.Fprintf(w, "warning: accepted equivalent matches no mutant any more: %s\n", key)
		}
	}
	fmt.Fprintf(w, "mutation score: %s (%d of %d mutants killed)\n", percent(allKilled, allCounted), allKilled, allCounted)
	if allCounted == 0 {
		return 100
	}
	return 100 * float64(allKilled) / float64(allCounted)
}

// covers reports whether key names a file of this run.
func (res *result) covers(key string) bool {
	for _, t := range res.targets {
		if strings.HasPrefix(key, t.file+": ") {
			return true
		}
	}
	return false
}

func percent(n, of int) string {
	if of == 0 {
		return "n/a"
	}
	return fmt.Sprintf("%.1f %%", 100*float64(n)/float64(of))
}

// prepare type-checks each mutant of t and builds t's schema; where the
// package cannot be type-checked here, every mutant is built alone.
func prepare(r *tester, t *target) {
	t.buildErr = make([]bool, len(t.mutants))
	t.inSchema = map[int]bool{}
	c, err := newChecker(r.goCmd, t.pkgDir)
	if err == nil {
		err = c.check(map[string][]byte{t.abs: t.src})
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "mutate: warning: %s: building each mutant alone: %v\n", t.file, err)
		return
	}
	ok := make([]bool, len(t.mutants))
	for i, m := range t.mutants {
		t.buildErr[i] = c.check(map[string][]byte{t.abs: m.apply(t.src)}) != nil
		ok[i] = !t.buildErr[i]
	}
	s, err := buildSchema(t.abs, t.src, t.mutants, ok)
	if err == nil {
		err = c.check(map[string][]byte{t.abs: s.src, filepath.Join(t.pkgDir, "zz_mutant_id.go"): s.idFile})
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "mutate: warning: %s: the schema does not build, building each mutant alone: %v\n", t.file, err)
		return
	}
	t.schema, t.inSchema = s, s.inFunc
}

func count(bs []bool) int {
	n := 0
	for _, b := range bs {
		if b {
			n++
		}
	}
	return n
}
