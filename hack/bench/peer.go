package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// app is one program, run the same way by every supervisor: the workload
// with the phase's start folder and a last argument that marks it.
type app struct {
	name string   // a17
	inst string   // a17-0: $PROCLET_INSTANCE, and the name of its start files
	argv []string // argv[0] is the absolute path of the workload
	// For proclet only.
	replicas  int    // 0: the default (1); negative: replicas: 0
	extraSpec string // more YAML under spec:, indented by two spaces
}

// peer is one supervisor under test, in one phase's folder. Every method
// but close may be slow: the harness times around them.
type peer interface {
	// start launches the supervisor with no apps and returns once it
	// accepts commands.
	start(ctx context.Context) error
	// apply makes apps the supervisor's whole configuration, the way its
	// users do (a file and, where the peer needs one, its command), and
	// returns when that command has returned.
	apply(ctx context.Context, apps []app) error
	// stopAll asks the supervisor to stop every app.
	stopAll(ctx context.Context) error
	// roots are the supervisor's processes; their descendants that are not
	// workloads are the supervisor too (s6-supervise, runsv).
	roots() []int
	// close stops the supervisor; the harness then kills whatever is left
	// of the phase by its mark.
	close()
}

// peerKind is a supervisor the harness knows.
type peerKind struct {
	name string
	// how says how a config reaches it, for the table's notes.
	how string
	new func(ph *phase) peer
}

// phase is one supervisor run: a folder, a start folder with its watcher,
// the mark its workloads carry and a log for everything they print.
type phase struct {
	name  string
	dir   string
	token string // "<run>/<phase>/": the workloads' last argument starts with it
	marks *marks
	log   *os.File
	r     *reaper
	b     *bench
}

func (b *bench) newPhase(name string) (*phase, error) {
	dir := filepath.Join(b.tmp, name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	m, err := newMarks(filepath.Join(dir, "marks"))
	if err != nil {
		return nil, err
	}
	log, err := os.Create(filepath.Join(dir, "log"))
	if err != nil {
		m.close()
		return nil, err
	}
	return &phase{name: name, dir: dir, token: b.r.run + "/" + name + "/", marks: m, log: log, r: b.r, b: b}, nil
}

// close kills what is left of the phase and frees its watcher. The
// phase's folder stays until the run ends (logs, for a post-mortem).
func (ph *phase) close() {
	if n := ph.r.sweep(ph.name); n > 0 {
		ph.b.logf("%s: killed %d leftover processes", ph.name, n)
	}
	ph.marks.close()
	ph.log.Close()
}

// app is the workload named name, with extra flags before the marks.
func (ph *phase) app(name string, extra ...string) app {
	argv := append([]string{ph.b.workload}, extra...)
	argv = append(argv, "--mark-start", ph.marks.dir, ph.token+name)
	return app{name: name, inst: name + "-0", argv: argv}
}

// apps are a0 … a(n-1).
func (ph *phase) apps(n int) []app {
	out := make([]app, n)
	for i := range out {
		out[i] = ph.app(fmt.Sprintf("a%d", i))
	}
	return out
}

func instances(apps []app) []string {
	out := make([]string, len(apps))
	for i, a := range apps {
		out[i] = a.inst
	}
	return out
}

// runScript is the ./run of an s6 or runit service: a shell that execs the
// workload (the idiom of both), so the service's PID is the workload's.
func runScript(a app) string {
	return fmt.Sprintf("#!/bin/sh\nexport PROCLET_INSTANCE=%s\nexec %s\n", a.inst, shellJoin(a.argv))
}

func shellJoin(argv []string) string {
	q := make([]string, len(argv))
	for i, s := range argv {
		q[i] = "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
	}
	return strings.Join(q, " ")
}

// writeAtomic writes data to path through a temporary file and a rename.
func writeAtomic(path string, data []byte, mode os.FileMode) error {
	tmp := filepath.Join(filepath.Dir(path), "."+filepath.Base(path)+".tmp")
	if err := os.WriteFile(tmp, data, mode); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// serviceDirs keeps a folder of service folders (s6's scandir, runit's
// service dir) equal to apps: new services are built aside and renamed in
// whole; a changed one gets its run script replaced. It returns the names
// of the changed services (the caller restarts them: neither s6 nor runit
// notices a new run script by itself).
func serviceDirs(dir, stage string, current map[string]app, apps []app) (added, changed []string, err error) {
	for _, a := range apps {
		old, ok := current[a.name]
		run := []byte(runScript(a))
		switch {
		case !ok:
			s := filepath.Join(stage, a.name)
			if err := os.MkdirAll(s, 0o755); err != nil {
				return nil, nil, err
			}
			if err := os.WriteFile(filepath.Join(s, "run"), run, 0o755); err != nil {
				return nil, nil, err
			}
			if err := os.Rename(s, filepath.Join(dir, a.name)); err != nil {
				return nil, nil, err
			}
			added = append(added, a.name)
		case runScript(old) != string(run):
			if err := writeAtomic(filepath.Join(dir, a.name, "run"), run, 0o755); err != nil {
				return nil, nil, err
			}
			changed = append(changed, a.name)
		}
		current[a.name] = a
	}
	return added, changed, nil
}
