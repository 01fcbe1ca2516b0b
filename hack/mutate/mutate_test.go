package main

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

const sample = `package sample

import "log"

const limit = 2

func clamp(v int) int {
	if v < 0 {
		return 0
	}
	log.Print("not mutated")
	defer func() {}()
	return min(v, limit)
}

func even(n int) bool {
	ok := n%2 == 0
	n++
	return ok && true
}
`

func descriptions(t *testing.T, src string) []string {
	t.Helper()
	ms, err := enumerate("sample.go", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, m := range ms {
		o, mu := m.describe([]byte(src))
		got = append(got, o+" → "+mu)
	}
	return got
}

func TestEnumerate(t *testing.T) {
	got := descriptions(t, sample)
	want := []string{
		"const limit = 2 → const limit = 3",
		"const limit = 2 → const limit = 1",
		"if v < 0 { → if v <= 0 {",
		"if v < 0 { → if v >= 0 {",
		"if v < 0 { → if v < 1 {",
		"return 0 → (removed)",
		"return 0 → return 1",
		"return min(v, limit) → return max(v, limit)",
		"ok := n%2 == 0 → ok := n*2 == 0",
		"ok := n%2 == 0 → ok := n%3 == 0",
		"ok := n%2 == 0 → ok := n%1 == 0",
		"ok := n%2 == 0 → ok := n%2 != 0",
		"ok := n%2 == 0 → ok := n%2 == 1",
		"n++ → (removed)",
		"n++ → n--",
		"return ok && true → return ok || true",
		"return ok && true → return ok && false",
	}
	if !slices.Equal(got, want) {
		t.Errorf("mutants:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestEnumerate_NegatesConditionsThatAreNotComparisons(t *testing.T) {
	got := descriptions(t, "package p\n\nfunc f(a, b bool) {\n\tswitch {\n\tcase a && b:\n\t}\n\tif g() {\n\t}\n}\n\nfunc g() bool { return false }\n")
	for _, w := range []string{"case a && b: → case !(a && b):", "if g() { → if !(g()) {"} {
		if !slices.Contains(got, w) {
			t.Errorf("no mutant %q in %q", w, got)
		}
	}
}

func TestParseEquivalents(t *testing.T) {
	eq, err := parseEquivalents("eq.txt", strings.NewReader(
		"# comment\n\nx/a.go: if  a < b { → if a <= b { -- the same when a == b\n"))
	if err != nil {
		t.Fatal(err)
	}
	if r := eq[equivalentKey("x/a.go", "if a < b {", "if a <= b {")]; r != "the same when a == b" {
		t.Errorf("equivalents %q", eq)
	}
	for _, bad := range []string{"x/a.go: a → b", "x/a.go: a b -- reason", "no colon -- reason"} {
		if _, err := parseEquivalents("eq.txt", strings.NewReader(bad)); err == nil || !strings.Contains(err.Error(), "eq.txt:1") {
			t.Errorf("%q: err %v, want one naming eq.txt:1", bad, err)
		}
	}
}

// TestRun mutates a small package whose test checks only part of its
// code, through the schema and built alone, and checks the outcomes.
func TestRun(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a package's tests: skipped with -short")
	}
	dir := t.TempDir()
	write := func(name, s string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("go.mod", "module sample\n\ngo 1.22\n")
	write("sample.go", sample)
	// clamp is pinned (negative, below and above the limit); even is not
	// tested at all, so its mutants survive.
	write("sample_test.go", `package sample

import "testing"

func TestClamp(t *testing.T) {
	for in, want := range map[int]int{-1: 0, 0: 0, 1: 1, 5: 2} {
		if got := clamp(in); got != want {
			t.Errorf("clamp(%d) = %d, want %d", in, got, want)
		}
	}
}
`)
	for _, schema := range []bool{true, false} {
		ts, err := loadTargets([]string{filepath.Join(dir, "sample.go"), filepath.Join(dir, "gone.go")}, os.Stderr)
		if err != nil || len(ts) != 1 {
			t.Fatalf("targets %v, %v; want sample.go only", ts, err)
		}
		tg := ts[0]
		tg.mutants, _ = enumerate(tg.file, tg.src)
		r := &tester{goCmd: "go", work: t.TempDir()}
		tg.buildErr = make([]bool, len(tg.mutants))
		tg.inSchema = map[int]bool{}
		if schema {
			prepare(r, tg)
			if len(tg.inSchema) == 0 {
				t.Fatal("no mutant in the schema")
			}
		}
		if err := r.baseline(tg, 10, 30*time.Second); err != nil {
			t.Fatal(err)
		}
		got := map[string]outcome{}
		for i, m := range tg.mutants {
			o, mu := m.describe(tg.src)
			if tg.buildErr[i] {
				got[o+" → "+mu] = buildError
				continue
			}
			if got[o+" → "+mu], err = r.judge(tg, i, 0); err != nil {
				t.Fatal(err)
			}
		}
		want := map[string]outcome{
			"const limit = 2 → const limit = 3":           killed,
			"if v < 0 { → if v <= 0 {":                    survived, // clamp(0) is 0 either way
			"if v < 0 { → if v >= 0 {":                    killed,
			"return 0 → (removed)":                        killed,
			"return min(v, limit) → return max(v, limit)": killed,
			"n++ → (removed)":                             survived,
			"return ok && true → return ok || true":       survived,
		}
		for k, w := range want {
			if got[k] != w {
				t.Errorf("schema %v: %s: %v, want %v", schema, k, got[k], w)
			}
		}
	}
}

// A target limited to functions (file@F) judges only their mutants, with its
// own tests; a target of the same file without @ judges the rest.
func TestLoadTargets_FunctionScopes(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "sample.go")
	if err := os.WriteFile(file, []byte(sample), 0o644); err != nil {
		t.Fatal(err)
	}
	ts, err := loadTargets([]string{file + "@clamp=^TestClamp$", file + "=^TestEven$"}, os.Stderr)
	if err != nil || len(ts) != 2 {
		t.Fatalf("targets %v, %v; want two", ts, err)
	}
	all, _ := enumerate(ts[0].file, ts[0].src)
	var lines [2][]int
	for i, tg := range ts {
		ms, err := tg.scope(all)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range ms {
			lines[i] = append(lines[i], m.line)
		}
	}
	// clamp is lines 7-14; the constant (line 5) and even (16-20) are the rest.
	if len(lines[0]) == 0 || slices.ContainsFunc(lines[0], func(l int) bool { return l < 7 || l > 14 }) {
		t.Errorf("@clamp judges lines %v, want only clamp's (7-14)", lines[0])
	}
	if !slices.Contains(lines[1], 5) || slices.ContainsFunc(lines[1], func(l int) bool { return l >= 7 && l <= 14 }) {
		t.Errorf("the rest judges lines %v, want the constant and even, not clamp", lines[1])
	}
	if len(lines[0])+len(lines[1]) != len(all) {
		t.Errorf("%d + %d mutants judged, want all %d once", len(lines[0]), len(lines[1]), len(all))
	}
	if ts[0].label != filepath.ToSlash(file)+"@clamp" || ts[1].run != "^TestEven$" {
		t.Errorf("label %q, run %q", ts[0].label, ts[1].run)
	}
	if ts, err = loadTargets([]string{file + "@nope"}, os.Stderr); err != nil {
		t.Fatal(err)
	}
	if _, err := ts[0].scope(all); err == nil || !strings.Contains(err.Error(), "no function nope") {
		t.Errorf("@nope: %v, want no function nope", err)
	}
}
