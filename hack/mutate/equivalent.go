package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strings"
)

// equivalents are the mutants accepted as changing no behaviour, keyed by
// file, original line and mutated line (see describe), with the reason.
type equivalents map[string]string

func equivalentKey(file, orig, mutated string) string {
	return file + ": " + orig + " → " + mutated
}

// readEquivalents reads lines "file: original → mutated -- reason"; blank
// lines and lines starting with # are skipped. A missing file is no entry.
func readEquivalents(path string) (equivalents, error) {
	f, err := os.Open(path)
	if os.IsNotExist(err) {
		return equivalents{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read the equivalent mutants: %w", err)
	}
	defer f.Close()
	return parseEquivalents(path, f)
}

func parseEquivalents(path string, r io.Reader) (equivalents, error) {
	eq := equivalents{}
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndex(line, " -- ")
		file, rest, okFile := strings.Cut(line, ": ")
		if i < 0 || !okFile || strings.TrimSpace(line[i+4:]) == "" {
			return nil, fmt.Errorf("%s:%d: want \"file: original → mutated -- reason\", got %q", path, n, line)
		}
		orig, mutated, ok := strings.Cut(rest[:i-len(file)-2], " → ")
		if !ok {
			return nil, fmt.Errorf("%s:%d: no \" → \" between the original and the mutated line in %q", path, n, line)
		}
		eq[equivalentKey(file, collapse(orig), collapse(mutated))] = strings.TrimSpace(line[i+4:])
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	return eq, nil
}

// readSurvivors reads the survivors an earlier run printed ("SURVIVED
// file:line: original → mutated"), as keys of equivalentKey, to judge
// them again after new tests.
func readSurvivors(path string) (map[string]bool, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read the survivors: %w", err)
	}
	keep := map[string]bool{}
	for _, line := range strings.Split(string(data), "\n") {
		rest, ok := strings.CutPrefix(strings.TrimSpace(line), "SURVIVED ")
		if !ok {
			continue
		}
		// file:line: rest -> file: rest
		loc, desc, ok := strings.Cut(rest, ": ")
		if i := strings.LastIndexByte(loc, ':'); ok && i > 0 {
			keep[loc[:i]+": "+desc] = true
		}
	}
	return keep, nil
}
