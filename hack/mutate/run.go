package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// outcome is what the tests made of one mutant.
type outcome int

const (
	killed outcome = iota
	survived
	timedOut // counts as killed
	buildError
)

func (o outcome) String() string {
	return [...]string{"killed", "survived", "timeout", "build error"}[o]
}

// target is one file to mutate and the tests that judge its mutants.
type target struct {
	file    string          // the file, as given
	label   string          // the file, and the functions it is limited to (@F,G)
	funcs   map[string]bool // only the mutants in these functions; nil: all but exclude
	exclude map[string]bool // the functions other targets of the file judge
	abs     string          // its absolute path
	pkgDir  string          // the absolute folder of its package
	run     string          // -test.run pattern, "" for every test
	src     []byte
	timeout time.Duration // of one run of the tests

	mutants   []mutant
	buildErr  []bool // mutant i does not type-check
	schema    *schema
	inSchema  map[int]bool
	schemaBin string // the tests built with the schema (or the file as is)
}

// tester builds and runs a target's tests against a mutated copy of its file.
type tester struct {
	goCmd    string
	work     string // a temp folder of the whole run
	parallel int    // -test.parallel of a run, 0 for the default (GOMAXPROCS)
}

// build compiles the tests of t's package, with the files of over (by
// absolute path) in place of or beside its own, into dir.
func (r *tester) build(ctx context.Context, t *target, over map[string][]byte, dir string) (string, error) {
	// No symbols nor DWARF: the link is most of a build's cost.
	args := []string{"test", "-c", "-ldflags=-s -w", "-o", filepath.Join(dir, "pkg.test")}
	if len(over) > 0 {
		replace := map[string]string{}
		for p, src := range over {
			copyPath := filepath.Join(dir, filepath.Base(p))
			if err := os.WriteFile(copyPath, src, 0o644); err != nil {
				return "", fmt.Errorf("write the mutant: %w", err)
			}
			replace[p] = copyPath
		}
		ov, err := json.Marshal(map[string]map[string]string{"Replace": replace})
		if err != nil {
			return "", err
		}
		overlay := filepath.Join(dir, "overlay.json")
		if err := os.WriteFile(overlay, ov, 0o644); err != nil {
			return "", fmt.Errorf("write the overlay: %w", err)
		}
		args = append(args, "-overlay", overlay)
	}
	cmd := exec.CommandContext(ctx, r.goCmd, append(args, ".")...)
	cmd.Dir = t.pkgDir
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go test -c in %s: %w\n%s", t.pkgDir, err, out)
	}
	return filepath.Join(dir, "pkg.test"), nil
}

// test runs a test binary in t's package folder within timeout, in a
// process group of its own that is killed when it ends or times out.
func (r *tester) test(t *target, bin string, timeout time.Duration, id int) (ok, timedOut bool, out string) {
	args := []string{"-test.count=1", "-test.failfast", "-test.timeout=" + timeout.String()}
	if t.run != "" {
		args = append(args, "-test.run="+t.run)
	}
	if r.parallel > 0 {
		args = append(args, fmt.Sprintf("-test.parallel=%d", r.parallel))
	}
	cmd := exec.Command(bin, args...)
	cmd.Dir = t.pkgDir
	cmd.Env = append(os.Environ(), fmt.Sprintf("%s=%d", mutantEnv, id))
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	var buf strings.Builder
	cmd.Stdout, cmd.Stderr = &buf, &buf
	if err := cmd.Start(); err != nil {
		return false, false, err.Error()
	}
	pgid := cmd.Process.Pid
	// The binary's own -test.timeout panics; this is for a test binary
	// wedged past it (a mutant that blocks its cleanup).
	timer := time.AfterFunc(timeout+30*time.Second, func() { syscall.Kill(-pgid, syscall.SIGKILL) })
	start := time.Now()
	err := cmd.Wait()
	timer.Stop()
	syscall.Kill(-pgid, syscall.SIGKILL) // whatever it left in its group
	var exit *exec.ExitError
	if errors.As(err, &exit) && time.Since(start) >= timeout {
		return false, true, buf.String()
	}
	return err == nil, false, buf.String()
}

// judge runs the tests against mutant i of t: in t's schema binary when
// it is there, else in a build of its own.
func (r *tester) judge(t *target, i int, slot int) (outcome, error) {
	bin, id := t.schemaBin, i+1
	if !t.inSchema[i] {
		dir, err := os.MkdirTemp(r.work, fmt.Sprintf("w%d-", slot))
		if err != nil {
			return buildError, err
		}
		defer os.RemoveAll(dir)
		bin, err = r.build(context.Background(), t, map[string][]byte{t.abs: t.mutants[i].apply(t.src)}, dir)
		if err != nil {
			return buildError, nil
		}
		id = 0
	}
	ok, to, _ := r.test(t, bin, t.timeout, id)
	switch {
	case to:
		return timedOut, nil
	case ok:
		return survived, nil
	}
	return killed, nil
}

// baseline builds t's schema and runs t's tests with no mutant: they must
// pass, and how long they take sets the timeout of a mutant's run.
func (r *tester) baseline(t *target, factor float64, least time.Duration) error {
	dir, err := os.MkdirTemp(r.work, "base-")
	if err != nil {
		return err
	}
	over := map[string][]byte{}
	if t.schema != nil {
		over[t.abs] = t.schema.src
		over[filepath.Join(t.pkgDir, "zz_mutant_id.go")] = t.schema.idFile
	}
	bin, err := r.build(context.Background(), t, over, dir)
	if err != nil {
		return err
	}
	t.schemaBin = bin
	start := time.Now()
	ok, _, out := r.test(t, bin, 10*time.Minute, 0)
	if !ok {
		return fmt.Errorf("the tests of %s fail without a mutant:\n%s", t.file, out)
	}
	t.timeout = max(time.Duration(factor*float64(time.Since(start))), least)
	return nil
}
