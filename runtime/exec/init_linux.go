package exec

// This file holds the daemon's side of init steps (spec.initCommands).
//
// An instance with init steps starts as the init runner
// (runtime/sockets/shim, shim.InitArg: the waiting shim's init mode),
// one long-lived process in the instance's session and group. Start
// hands it its spec through a memfd (argv and the run dir never see the
// steps' environment) and returns once it is exec'd: it does not wait for
// the steps. The runner runs each step as its child, in the instance's
// group (a stop's signal reaches it; at its timeoutSeconds it is
// SIGKILLed), its output through pipes into the step's log files
// (logfile.InitPath, CRI lines, rotated as the instance's) which it
// writes itself, and records its progress in <run dir>/exits/<uid>.init.json
// (initRecord: before each step, after a failure, before the command).
// Then it execs the command (no exit record and no user switch: the
// instance's PID becomes the command's), or runs it as its child and
// records its exit as the waiting shim does.
//
// The Runtime reads the progress file every initPollInterval while a
// step runs (watchInit) into State.Init, with an Event at each change;
// probing (startProbes) is deferred until the command runs, the
// instance neither started nor ready until then. A failed step makes
// the exit InitFailed, with the step's code or signal (initExit). A
// daemon that adopts the runner (its PID, start time and marker are the
// instance's) reads the same file and goes on: no step runs twice, the
// command starts once. The file is removed on Release.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"proclet.dev/proclet/apis/v1alpha1"
	"proclet.dev/proclet/runtime"
	"proclet.dev/proclet/runtime/logfile"
	"proclet.dev/proclet/runtime/sockets/shim"
)

// initPollInterval is how often the progress of an instance in its init
// steps is read.
const initPollInterval = 50 * time.Millisecond

// maxInitProgress bounds the read of a progress file (the runner writes
// some 120 bytes).
const maxInitProgress = 512

// initProgressPath is where uid's init runner records its progress.
func (e *Runtime) initProgressPath(uid string) string {
	return filepath.Join(exitsDir(e.runDir), uid+".init.json")
}

// removeInitProgress deletes uid's progress file: the instance is
// released.
func (e *Runtime) removeInitProgress(uid string) {
	p := e.initProgressPath(uid)
	os.Remove(p)
	os.Remove(p + ".tmp")
}

// withInitRunner makes l start through the init runner (shim.InitArg),
// which runs s's init steps and then what l runs (the command, behind
// the sockets shim and the openFiles shell when they are in front of
// it). The runner's spec goes through a memfd, never through a file or
// argv (step env may hold what the instance's env holds). The returned
// file is the memfd, to close once the process started.
func (e *Runtime) withInitRunner(l *launch, s runtime.StartSpec) (*os.File, error) {
	var b bytes.Buffer
	field := func(v ...string) {
		for _, f := range v {
			b.WriteString(f)
			b.WriteByte(0)
		}
	}
	list := func(v []string) { field(strconv.Itoa(len(v))); field(v...) }
	os.Mkdir(exitsDir(e.runDir), 0o700)
	progress := e.initProgressPath(s.UID)
	os.Remove(progress) // a uid is started once: nothing of it can be there
	record := ""
	if s.RecordExit {
		record = e.exitRecordPath(s.UID)
		os.Remove(record)
	}
	maxSize, maxFiles := logfile.Limits(s.Spec)
	field("proclet-init-1", progress, record, credArg(l.cred), strconv.Itoa(int(e.logFileMode.Perm())),
		strconv.FormatInt(maxSize, 10), strconv.Itoa(maxFiles), s.Revision, strconv.Itoa(len(s.Spec.InitCommands)))
	logDir := filepath.Dir(logfile.Path(e.stateDir, s.App, s.Instance, "stdout"))
	if err := os.MkdirAll(logDir, logfile.DirMode(e.logFileMode)); err != nil {
		return nil, err
	}
	for i, c := range s.Spec.InitCommands {
		st, err := e.prepareStep(s, l, i, c)
		if err != nil {
			return nil, err
		}
		field(c.Name, st.dir, strconv.FormatInt(timeoutOf(c), 10),
			logfile.InitPath(e.stateDir, s.App, s.Instance, c.Name, "stdout"),
			logfile.InitPath(e.stateDir, s.App, s.Instance, c.Name, "stderr"), st.path)
		list(st.args)
		list(st.env.Environ())
	}
	field(l.path)
	list(l.args)
	fd, err := unix.MemfdCreate("proclet-init", unix.MFD_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("init steps: memfd: %w", err)
	}
	f := os.NewFile(uintptr(fd), "proclet-init")
	if _, err := f.Write(b.Bytes()); err != nil {
		f.Close()
		return nil, fmt.Errorf("init steps: %w", err)
	}
	f.Seek(0, io.SeekStart)
	l.files = append(l.files, f)
	l.args = []string{"proclet", shim.InitArg, strconv.Itoa(2 + len(l.files))}
	l.path = shimPath
	l.waits = true // the runner runs as the daemon's user; it switches for the steps and the command
	return f, nil
}

// credArg is cred as the shims take it: "-" for none, else
// "uid:gid:g1,g2,...".
func credArg(c *syscall.Credential) string {
	if c == nil {
		return "-"
	}
	groups := make([]string, len(c.Groups))
	for i, g := range c.Groups {
		groups[i] = strconv.FormatUint(uint64(g), 10)
	}
	return fmt.Sprintf("%d:%d:%s", c.Uid, c.Gid, strings.Join(groups, ","))
}

func timeoutOf(c v1alpha1.InitCommand) int64 {
	if c.TimeoutSeconds == nil || *c.TimeoutSeconds <= 0 {
		return 0
	}
	return *c.TimeoutSeconds
}

// prepareStep resolves step i of s: its environment (the instance's,
// without the sockets' LISTEN_* variables, plus the step's env), its
// working dir and its executable, as prepare does for the command.
func (e *Runtime) prepareStep(s runtime.StartSpec, l *launch, i int, c v1alpha1.InitCommand) (*launch, error) {
	at := fmt.Sprintf("spec.initCommands[%d]", i)
	env := newEnvList(l.env.Environ())
	for _, name := range []string{"LISTEN_FDS", "LISTEN_FDNAMES", "LISTEN_PID"} {
		env.Unset(name)
	}
	total := 0
	for j, v := range c.Env {
		if v.ValueFrom != nil {
			return nil, fmt.Errorf("%s.env[%d].valueFrom (%s): not supported in an init step", at, j, v.Name)
		}
		val, err := v1alpha1.Expand(v.Value, env.Lookup, v1alpha1.MaxExpandedValue)
		if err != nil {
			return nil, fmt.Errorf("%s.env[%d].value (%s): %w", at, j, v.Name, err)
		}
		total += len(v.Name) + 1 + len(val)
		env.Set(v.Name, val)
	}
	st := &launch{env: env.freeze(), dir: l.dir}
	if c.WorkingDir != "" {
		st.dir = workingDir(runtime.StartSpec{Dir: s.Dir, Spec: &v1alpha1.AppSpec{WorkingDir: c.WorkingDir}})
	}
	if fi, err := os.Stat(st.dir); err != nil {
		return nil, fmt.Errorf("%s.workingDir %s: %w", at, st.dir, osErr(err))
	} else if !fi.IsDir() {
		return nil, fmt.Errorf("%s.workingDir %s: %w", at, st.dir, syscall.ENOTDIR)
	}
	args, err := expandArgv(at+".command", c.Command, st.env, total)
	if err != nil {
		return nil, err
	}
	st.args = args
	if st.path, err = resolveExecutable(args[0], st.dir, st.env); err != nil {
		return nil, fmt.Errorf("%s: exec %s: %w", at, shownArg(args[0]), err)
	}
	return st, nil
}

// initRecord is what the init runner writes into its progress file.
type initRecord struct {
	PID     int    `json:"pid"`
	Step    int    `json:"step"`
	Total   int    `json:"total"`
	State   string `json:"state"` // running, failed, done
	Code    int    `json:"code"`
	Signal  int    `json:"signal"`
	Timeout bool   `json:"timeout"`
	At      int64  `json:"at"`
}

// readInitRecord reads the progress the runner pid recorded for uid;
// ok is false when there is none, or none of pid's.
func (e *Runtime) readInitRecord(uid string, pid int) (initRecord, bool) {
	var r initRecord
	f, err := os.OpenFile(e.initProgressPath(uid), os.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK, 0)
	if err != nil {
		return r, false
	}
	defer f.Close()
	if st, err := f.Stat(); err != nil || !st.Mode().IsRegular() {
		return r, false
	}
	data, err := io.ReadAll(io.LimitReader(f, maxInitProgress+1))
	if err != nil || len(data) > maxInitProgress || json.Unmarshal(data, &r) != nil {
		return r, false
	}
	return r, r.PID == pid && r.Step >= 0 && r.Step <= r.Total && r.Total <= 64
}

// initProgress is what the record r says of spec's steps.
func initProgress(spec *v1alpha1.AppSpec, r initRecord) runtime.InitProgress {
	steps := spec.InitCommands
	p := runtime.InitProgress{Done: min(r.Step, len(steps)), Total: len(steps)}
	if r.State == "done" {
		p.Done = p.Total
	}
	if p.Done < p.Total {
		p.Name = steps[p.Done].Name
	}
	if r.State == "failed" {
		p.Message = initFailureMessage(p.Name, r)
	}
	return p
}

func initFailureMessage(name string, r initRecord) string {
	switch {
	case r.Timeout:
		return fmt.Sprintf("init step %s timed out (killed)", name)
	case r.Signal > 0:
		return fmt.Sprintf("init step %s was killed by %s", name, unix.SignalName(syscall.Signal(r.Signal)))
	}
	return fmt.Sprintf("init step %s exited with code %d", name, r.Code)
}

// hasInit tells whether s starts through the init runner.
func hasInit(s runtime.StartSpec) bool { return s.Spec != nil && len(s.Spec.InitCommands) > 0 }

// initExit is exit as the init runner of h says it: InitFailed, with
// the step's code or signal, when a step failed; exit otherwise. It also
// sets h's Init to what the runner recorded last. Call it before the
// exit is published.
func (e *Runtime) initExit(h *handle, exit v1alpha1.ExitStatus) v1alpha1.ExitStatus {
	if !hasInit(h.spec) {
		return exit
	}
	r, ok := e.readInitRecord(h.spec.UID, h.pid)
	if !ok {
		return exit
	}
	p := initProgress(h.spec.Spec, r)
	e.mu.Lock()
	h.live.state.Init = p
	e.mu.Unlock()
	if r.State != "failed" {
		return exit
	}
	exit.Reason = runtime.ExitReasonInitFailed
	exit.Code, exit.Signal = r.Code, ""
	if r.Signal > 0 {
		exit.Code, exit.Signal = 128+r.Signal, unix.SignalName(syscall.Signal(r.Signal))
	}
	return exit
}

// beginInit sets h's Init before h is published: where its runner is
// (adopted: what the runner recorded; started: before its first step).
func (e *Runtime) beginInit(h *handle) {
	if !hasInit(h.spec) {
		return
	}
	p := runtime.InitProgress{Total: len(h.spec.Spec.InitCommands), Name: h.spec.Spec.InitCommands[0].Name}
	if h.adopted != nil {
		if r, ok := e.readInitRecord(h.spec.UID, h.pid); ok {
			p = initProgress(h.spec.Spec, r)
		} else if !isInitRunner(h.pid) {
			p.Done, p.Name = p.Total, "" // not the runner (any more): the command was exec'd
		}
	}
	h.live.state.Init = p
}
