package exec

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"proclet.dev/proclet/runtime"
	"proclet.dev/proclet/runtime/cgroup"
	"proclet.dev/proclet/runtime/logfile"
	"proclet.dev/proclet/runtime/procfs"
)

// launch is a start resolved against the host: everything exec needs.
type launch struct {
	name string   // argv0 as written, expanded: for errors
	path string   // the executable
	args []string // argv, args[0] as written in the command
	env  *envList
	dir  string
	cred *syscall.Credential // nil: run as the daemon's user
	// files are the sockets of spec.sockets, fds 3… of the instance
	// (sockets_linux.go); nil without sockets.
	files []*os.File
	// waits: the process is the waiting shim (exitrecord_linux.go), which
	// runs as the daemon's user and switches to cred for the command.
	waits bool
}

// Start implements Interface. Nothing of a failed start is kept.
func (e *Runtime) Start(ctx context.Context, s runtime.StartSpec) (runtime.State, error) {
	st, err := e.start(ctx, s)
	if err != nil {
		return runtime.State{}, fmt.Errorf("start %s: %w", s.Instance, err)
	}
	return st, nil
}

func (e *Runtime) start(ctx context.Context, s runtime.StartSpec) (runtime.State, error) {
	if err := ctx.Err(); err != nil {
		return runtime.State{}, err
	}
	for _, n := range []struct{ what, name string }{{"uid", s.UID}, {"app", s.App}, {"instance", s.Instance}} {
		if !fileNameSafe(n.name) {
			return runtime.State{}, fmt.Errorf("invalid %s %q", n.what, n.name)
		}
	}
	if s.Spec == nil || len(s.Spec.Command) == 0 {
		return runtime.State{}, errors.New("empty command")
	}
	e.mu.Lock()
	if e.closing {
		e.mu.Unlock()
		return runtime.State{}, runtime.ErrClosed
	}
	if _, dup := e.handles[s.UID]; dup {
		e.mu.Unlock()
		return runtime.State{}, fmt.Errorf("uid %q is already started", s.UID)
	}
	e.starts.Add(1)
	e.mu.Unlock()
	defer e.starts.Done()

	ports, err := e.ports.Assign(s)
	if err != nil {
		return runtime.State{}, err
	}
	s.Ports = ports
	files, err := e.ports.Sockets(s) // held with the ports: Release frees both
	if err != nil {
		e.ports.Release(s.UID)
		return runtime.State{}, err
	}
	l, err := e.prepare(s)
	if err != nil {
		e.ports.Release(s.UID)
		return runtime.State{}, err
	}
	withSockets(l, s.Spec.Sockets, files)
	var initSpec *os.File // the init runner's spec (init_linux.go)
	if hasInit(s) {
		if initSpec, err = e.withInitRunner(l, s); err != nil {
			e.ports.Release(s.UID)
			return runtime.State{}, err
		}
	} else if s.RecordExit {
		e.withWaitShim(l, s.UID)
	}
	h, err := e.spawn(s, l)
	if initSpec != nil {
		initSpec.Close()
	}
	if err != nil {
		e.ports.Release(s.UID)
		return runtime.State{}, err
	}
	e.beginInit(h)
	e.startProbes(h)
	h.startTicks = procfs.StartTicks(h.pid) // its identity for the next daemon (adopt_linux.go)
	e.mu.Lock()
	e.addHandleLocked(h)
	st := h.stateLocked()
	e.wg.Add(3)
	e.mu.Unlock()
	e.store.markDirty()
	h.exit.start(e.outputs, func() { e.wait(h) })
	e.startReader(h.output[0])
	e.startReader(h.output[1])
	e.watchInit(h)
	e.log.Debug("started", "app", s.App, "instance", s.Instance, "pid", h.pid, "uid", s.UID)
	return st, nil
}

// fileNameSafe reports whether name can be a file name of its own: uid,
// app and instance name the run and log files.
func fileNameSafe(name string) bool {
	return name != "" && name != "." && name != ".." && !strings.ContainsAny(name, "/\x00")
}

// prepare resolves user, environment, working dir and executable.
func (e *Runtime) prepare(s runtime.StartSpec) (*launch, error) {
	l := &launch{}
	var userEnv map[string]string
	if s.Spec.User != "" {
		var err error
		if l.cred, userEnv, err = e.credential(s.Spec.User); err != nil {
			return nil, err
		}
	}
	env, envTotal, err := instanceEnv(e.env, e.stateDir, s, userEnv)
	if err != nil {
		return nil, err
	}
	l.env = env
	l.dir = workingDir(s)
	if st, err := os.Stat(l.dir); err != nil {
		return nil, fmt.Errorf("working dir %s: %w", l.dir, osErr(err))
	} else if !st.IsDir() {
		return nil, fmt.Errorf("working dir %s: %w", l.dir, syscall.ENOTDIR)
	}
	if l.args, err = expandArgv("spec.command", s.Spec.Command, l.env, envTotal); err != nil {
		return nil, err
	}
	l.name = l.args[0]
	path, err := resolveExecutable(l.name, l.dir, l.env)
	if err != nil {
		return nil, fmt.Errorf("exec %s: %w", shownArg(l.name), err)
	}
	l.path = path
	if n := s.Spec.Resources.Limits.OpenFiles; n != nil {
		if err := e.withOpenFiles(l, *n); err != nil {
			return nil, err
		}
	}
	return l, nil
}

// workingDir is Spec.WorkingDir, relative to the manifest's Dir, or Dir.
func workingDir(s runtime.StartSpec) string {
	dir := s.Spec.WorkingDir
	if dir == "" {
		dir = s.Dir
	} else if !filepath.IsAbs(dir) {
		dir = filepath.Join(s.Dir, dir)
	}
	if abs, err := filepath.Abs(dir); err == nil {
		return abs
	}
	return dir
}

// resolveExecutable finds argv0 the way execvp would, but with the
// instance's PATH: a name with a slash is taken relative to dir; a bare
// name is looked up in the absolute entries of PATH (relative entries are
// skipped, as os/exec refuses them).
func resolveExecutable(argv0, dir string, env *envList) (string, error) {
	if strings.Contains(argv0, "/") {
		p := argv0
		if !filepath.IsAbs(p) {
			p = filepath.Join(dir, p)
		}
		return p, checkExecutable(p)
	}
	pathEnv, _ := env.Lookup("PATH")
	for _, d := range filepath.SplitList(pathEnv) {
		if !filepath.IsAbs(d) {
			continue
		}
		p := filepath.Join(d, argv0)
		if checkExecutable(p) == nil {
			return p, nil
		}
	}
	return "", exec.ErrNotFound
}

func checkExecutable(p string) error {
	st, err := os.Stat(p)
	switch {
	case err != nil:
		return osErr(err)
	case st.IsDir():
		return syscall.EISDIR
	case st.Mode()&0o111 == 0:
		return syscall.EACCES
	}
	return nil
}

// osErr strips the *fs.PathError around an errno, so messages read
// "exec ./bin/web: no such file or directory"; errors.Is still works.
func osErr(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// credential resolves name (a user name or a numeric uid). Switching user
// needs root; naming the daemon's own user is allowed and changes nothing.
// It also returns HOME, USER and LOGNAME for the user's environment.
func (e *Runtime) credential(name string) (*syscall.Credential, map[string]string, error) {
	u, err := lookupUser(name)
	if err != nil {
		return nil, nil, fmt.Errorf("user %s: %w", name, err)
	}
	uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
	gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
	if err := errors.Join(err1, err2); err != nil {
		return nil, nil, fmt.Errorf("user %s: %w", name, err)
	}
	env := map[string]string{}
	if u.Username != "" {
		env["USER"], env["LOGNAME"] = u.Username, u.Username
	}
	if u.HomeDir != "" {
		env["HOME"] = u.HomeDir
	}
	if e.euid != 0 {
		if int(uid) == e.euid {
			return nil, env, nil
		}
		return nil, nil, fmt.Errorf("user %s: only a daemon running as root can switch user", name)
	}
	cred := &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
	if ids, err := u.GroupIds(); err == nil {
		for _, g := range ids {
			if n, err := strconv.ParseUint(g, 10, 32); err == nil {
				cred.Groups = append(cred.Groups, uint32(n))
			}
		}
	}
	return cred, env, nil
}

// lookupUser finds a user by name, or by uid when name is a number; a uid
// the user database does not know runs with gid = uid.
func lookupUser(name string) (*user.User, error) {
	if _, err := strconv.ParseUint(name, 10, 32); err != nil {
		return user.Lookup(name)
	}
	u, err := user.LookupId(name)
	if errors.As(err, new(user.UnknownUserIdError)) {
		return &user.User{Uid: name, Gid: name}, nil
	}
	return u, err
}

// withOpenFiles makes l set RLIMIT_NOFILE (soft and hard) to n in the
// child. Go has no per-child rlimit and a prlimit after fork races with the
// child, so the child is exec'd through /bin/sh: `ulimit -n n && exec "$@"`
// replaces the shell with the command (same pid), and "$@" passes argv
// through unparsed. The shell execs the resolved path, so the program sees
// that path as argv[0].
func (e *Runtime) withOpenFiles(l *launch, n int64) error {
	if n <= 0 {
		return fmt.Errorf("openFiles %d: must be positive", n)
	}
	var lim unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &lim); err == nil && uint64(n) > lim.Max && e.euid != 0 {
		return fmt.Errorf("openFiles %d: above the daemon's hard limit %d", n, lim.Max)
	}
	const sh = "/bin/sh"
	if err := checkExecutable(sh); err != nil {
		return fmt.Errorf("openFiles needs %s: %w", sh, err)
	}
	script := "ulimit -n " + strconv.FormatInt(n, 10) + ` && exec "$@"`
	l.args = append([]string{sh, "-c", script, "proclet-rlimit", l.path}, l.args[1:]...)
	l.path = sh
	return nil
}

// startProcess starts cmd with out's child ends as its stdout and stderr:
// on a forker thread (forker_linux.go) unless it goes into a cgroup (the
// cgroup's fd is in the daemon's table), inherits sockets (theirs too), or
// there are no forker threads. It returns the child's pid and keeps no
// os.Process: that would hold a pidfd per instance beside the waiter's
// (wait_linux.go), which watches and reaps the child by its pid.
func (e *Runtime) startProcess(cmd *exec.Cmd, out *fifos, cg *cgroup.Cgroup) (pid int, err error) {
	start := func() (int, error) {
		if err := out.openChildEnds(); err != nil {
			return 0, err
		}
		defer out.closeChildEnds()
		stdin, err := openDevNull() // not exec.Cmd's os.Open: see forker_linux.go
		if err != nil {
			return 0, err
		}
		defer stdin.Close()
		cmd.Stdin, cmd.Stdout, cmd.Stderr = stdin, out.child[0], out.child[1]
		started, err := e.startInCgroup(cmd, cg)
		if err != nil {
			return 0, err
		}
		// The child stays unreaped (only reap does that): its pid and
		// group id stay reserved while the pidfd is let go, here (on a
		// forker thread: in that thread's table) or in the daemon's.
		pid := started.Process.Pid
		started.Process.Release()
		return pid, nil
	}
	if cg != nil || len(cmd.ExtraFiles) > 0 {
		return start()
	}
	if !smallTable.run(func() { pid, err = start() }) {
		return start()
	}
	return pid, err
}

// spawn starts the process with its output FIFOs and builds its handle.
func (e *Runtime) spawn(s runtime.StartSpec, l *launch) (*handle, error) {
	out, err := openFIFOs(e.runDir, s.UID)
	if err != nil {
		return nil, err
	}
	cg, err := e.cgroups.Create(s) // nil without a cgroup root
	if err != nil {
		out.cleanup()
		return nil, err
	}
	cmd := &exec.Cmd{
		Path: l.path,
		Args: l.args,
		Env:  l.env.Environ(),
		Dir:  l.dir,
		// Its own session, and so its own group (pgid == sid == pid): a
		// stop reaches its children too, and nothing aimed at the
		// daemon's session reaches it (the SIGHUP of the terminal the
		// daemon was started from, job control) nor can it open that
		// terminal. Setsid alone: setpgid after it would fail (EPERM).
		// NEVER set Pdeathsig: instances must outlive the daemon, and
		// it fires when the forking OS thread exits, not the daemon (a
		// forker thread lives as long as the daemon, but still).
		SysProcAttr: &syscall.SysProcAttr{Setsid: true, Credential: l.processCred()},
		ExtraFiles:  l.files, // fds 3…: spec.sockets
	}
	pid, err := e.startProcess(cmd, out, cg)
	if err != nil {
		out.closeReadEnds()
		out.remove()
		cg.Remove()
		return nil, fmt.Errorf("exec %s: %w", shownArg(l.name), osErr(err))
	}
	w, err := newPidWaiter(pid)
	if err != nil {
		unix.Kill(-pid, unix.SIGKILL)
		reap(pid)
		out.closeReadEnds()
		out.remove()
		cg.Exited()
		return nil, err
	}
	maxSize, maxFiles := logfile.Limits(s.Spec)
	h := &handle{
		handleFixed: handleFixed{
			spec:   s,
			pid:    pid,
			env:    l.env,
			dir:    l.dir,
			cred:   l.cred,
			exit:   w,
			done:   make(chan struct{}),
			cgroup: cg,
		},
		live: handleLive{state: runtime.State{
			UID: s.UID, App: s.App, Instance: s.Instance, Ordinal: s.Ordinal,
			Revision: s.Revision, PID: pid, StartedAt: time.Now(), Ports: maps.Clone(s.Ports),
		}},
	}
	for i, stream := range streams {
		h.output[i] = &reader{
			f:    out.read[i],
			fifo: out.paths[i],
			out:  e.acquireLog(logfile.Path(e.stateDir, s.App, s.Instance, stream), maxSize, maxFiles),
			done: make(chan struct{}),
			p:    e.outputs,
		}
		h.output[i].out.Mark(logfile.StartMark(pid, s.Revision)) // where this run begins (logs --previous)
	}
	return h, nil
}
