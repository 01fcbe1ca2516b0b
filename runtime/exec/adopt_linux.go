package exec

// This file holds adoption: New's last step, which turns the instances
// a previous daemon on the same state dir left running into handles of this
// Runtime, before anything can be started. See "Adoption" in doc.go.

import (
	"errors"
	"maps"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"proclet.dev/proclet/apis/v1alpha1"

	"proclet.dev/proclet/runtime"
	"proclet.dev/proclet/runtime/logfile"
	"proclet.dev/proclet/runtime/probe"
	"proclet.dev/proclet/runtime/procfs"
)

const (
	// ExitReasonUnknown is the reason of an exit whose status cannot be
	// known: an instance that ended while no daemon ran, or an adopted one
	// (not the daemon's child: its exit code is its new parent's).
	ExitReasonUnknown = "Unknown"
	// unknownExitCode is the code of such an exit: not a code a process
	// can exit with, and not 0, so OnFailure restarts it.
	unknownExitCode = -1
	// adoptPollInterval is how often an adopted instance is looked for in
	// /proc where pidfd_open is missing (kernels before 5.3).
	adoptPollInterval = 200 * time.Millisecond
)

// errGone says a process to adopt is no longer the instance.
var errGone = errors.New("the process is gone")

// adoption is what an adopted handle has that a started one does not.
type adoption struct {
	// unwatch ends the /proc polling of the exit watcher; nil with a pidfd.
	unwatch func()
	// resume is the probe status to go on from (startProbes): the
	// recorded one, so an adopted ready instance stays ready.
	resume *runtime.ProbeStatus
}

// adoptee is a running process about to become a handle.
type adoptee struct {
	spec      runtime.StartSpec
	pid       int
	ticks     uint64
	startedAt time.Time
	probe     *runtime.ProbeStatus // the recorded status; nil: probe afresh
	env       []string             // its environment, as /proc has it
	listenFDs map[string]int       // the recorded fds of its sockets; nil: 3… in spec order
}

// adopt finds the instances a previous daemon left and makes handles of
// them: instances.json says which (checked against /proc: same start time,
// and PROCLET_UID in the environment), and a scan of /proc for the marker of
// this state dir finds those the file misses (started after its last write)
// or all of them when the file is missing or corrupt. A recorded instance
// that is gone becomes an exited handle with an Unknown exit, which the
// reconciler restarts under its policy.
func (e *Runtime) adopt() {
	records, err := e.store.load()
	missing := err != nil && isMissing(err)
	if err != nil && !missing {
		e.log.Error("instances state unreadable; finding the instances by their environment marker instead",
			append([]any{"err", err}, moveAside(e.store.path)...)...)
	}
	marked := e.scanMarked()
	boot, err := procfs.BootTime()
	if err != nil {
		e.log.Warn("cannot read the boot time; start times of instances found by their marker are the adoption time", "err", err)
	}
	ports := e.ports.Previous()
	now := time.Now()
	adopted, lost := 0, 0
	seen := map[string]bool{}
	for i := range records {
		r := &records[i]
		if seen[r.UID] || !fileNameSafe(r.UID) || !fileNameSafe(r.App) || !fileNameSafe(r.Instance) {
			e.log.Warn("ignoring a bad instance record", "file", e.store.path, "uid", r.UID, "app", r.App, "instance", r.Instance)
			continue
		}
		seen[r.UID] = true
		log := e.log.With("app", r.App, "instance", r.Instance, "pid", r.PID, "uid", r.UID)
		if r.Exit == nil {
			env, verr := verifyInstance(r.PID, r.StartTicks, r.UID)
			if verr == nil {
				probe := r.Probe.status()
				err := e.adoptProcess(adoptee{spec: r.startSpec(), pid: r.PID, ticks: r.StartTicks,
					startedAt: r.StartedAt, probe: &probe, env: env, listenFDs: r.ListenFDs})
				if err == nil {
					adopted++
					log.Info("adopted instance")
					continue
				}
				verr = err
			}
			log.Debug("recorded process is not the instance", "err", verr)
		}
		// The file may have missed a restart of this uid: a process
		// writing to the uid's FIFO as it is now is that restart.
		if c, ok := marked[r.UID]; ok && c.current {
			if e.adoptMarked(c, r, ports, boot, now) {
				adopted++
				continue
			}
		}
		var exit v1alpha1.ExitStatus
		if r.Exit != nil {
			exit = *r.Exit // it exited under the last daemon, which knew how
		} else if x, ok := e.adoptedExit(r.UID, r.PID, now); ok {
			exit = x // its waiting shim recorded it
			log.Info("instance exited while no daemon watched it; its exit was recorded", "exit_code", x.Code, "signal", x.Signal)
		} else {
			exit = x
			lost++
			log.Warn("instance gone while no daemon watched it (or its pid was reused); reporting an Unknown exit")
		}
		probe := r.Probe.status()
		e.addExited(r.startSpec(), r.PID, r.StartedAt, probe, exit)
	}
	for uid, c := range marked {
		if seen[uid] {
			continue
		}
		if e.adoptMarked(c, nil, ports, boot, now) {
			adopted++
		}
	}
	if missing && adopted > 0 {
		e.log.Error("instances state missing; found running instances by their environment marker", "file", e.store.path, "found", adopted)
	}
	e.removeStrayFIFOs()
	e.removeStrayExitRecords()
	e.ports.Save()
	e.writeInstances()
	if adopted+lost > 0 {
		e.log.Info("adoption done", "adopted", adopted, "lost", lost)
	}
}

// adoptMarked adopts c, found by its marker, building its StartSpec from
// its environment (PROCLET_APP, PROCLET_INSTANCE, PROCLET_INDEX,
// PROCLET_REVISION, and its ports from ports.json or PORT_<NAME>). The spec
// is r's when r is a record of the same uid at the same revision; else it
// is unknown (nil): no probes (Started and Ready), stopped with defaults.
func (e *Runtime) adoptMarked(c markedProc, r *instanceRecord, ports map[string]map[string]int32, boot, now time.Time) bool {
	uid, _ := procfs.EnvValue(c.env, envUID)
	app, _ := procfs.EnvValue(c.env, "PROCLET_APP")
	inst, _ := procfs.EnvValue(c.env, "PROCLET_INSTANCE")
	rev, _ := procfs.EnvValue(c.env, envRevision)
	idx, _ := procfs.EnvValue(c.env, "PROCLET_INDEX")
	ord, err := strconv.Atoi(idx)
	log := e.log.With("app", app, "instance", inst, "pid", c.pid, "uid", uid)
	if err != nil || !fileNameSafe(app) || !fileNameSafe(inst) {
		log.Error("a process carries the marker of this state dir but not a whole instance identity; leaving it alone")
		return false
	}
	s := runtime.StartSpec{UID: uid, App: app, Instance: inst, Ordinal: ord, Revision: rev}
	if r != nil && r.App == app && r.Ordinal == ord && r.Revision == rev {
		s.Spec, s.Dir = r.Spec, r.Dir
	}
	if p, ok := ports[uid]; ok {
		s.Ports = p
	} else {
		s.Ports = envPorts(c.env, s.Spec)
	}
	startedAt := now
	if !boot.IsZero() {
		startedAt = procfs.TicksTime(boot, c.ticks)
	}
	if err := e.adoptProcess(adoptee{spec: s, pid: c.pid, ticks: c.ticks, startedAt: startedAt, env: c.env}); err != nil {
		log.Debug("not adopted", "err", err)
		return false
	}
	log.Info("adopted instance found by its environment marker", "revision", rev, "spec_known", s.Spec != nil)
	return true
}

// envPorts reads an instance's ports from its PORT_<NAME> variables. The
// spec, when known, maps the names back; otherwise a name is its variable
// suffix in lower case with '_' as '-' (port names are lower case).
func envPorts(env []string, spec *v1alpha1.AppSpec) map[string]int32 {
	names := map[string]string{}
	if spec != nil {
		for _, p := range spec.Ports {
			names[portEnvName(p.Name)] = p.Name
		}
	}
	var out map[string]int32
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		suffix, ok := strings.CutPrefix(k, "PORT_")
		if !ok || suffix == "" {
			continue
		}
		n, err := strconv.ParseUint(v, 10, 16)
		if err != nil || n == 0 {
			continue
		}
		name, ok := names[suffix]
		if !ok {
			if spec != nil {
				continue // a variable of the spec's env, not a port
			}
			name = strings.ReplaceAll(strings.ToLower(suffix), "_", "-")
		}
		if out == nil {
			out = map[string]int32{}
		}
		out[name] = int32(n)
	}
	return out
}

// adoptProcess makes a handle of a running process: an exit watcher (a
// pidfd, or /proc polling), its ports held, readers on its output FIFOs
// appending to its logs, its probes resumed. It fails (keeping nothing)
// when the process is no longer the one named by pid and ticks.
func (e *Runtime) adoptProcess(a adoptee) error {
	w, unwatch, err := e.watchExit(a.pid, a.ticks)
	if err != nil {
		return err
	}
	// The watcher holds the process now: if it is still the one, the
	// watcher watches the instance and nothing else.
	if !procfs.SameProcess(a.pid, a.ticks) {
		if unwatch != nil {
			unwatch()
		}
		w.Close()
		return errGone
	}
	s := a.spec
	h := &handle{
		handleFixed: handleFixed{
			spec:       s,
			pid:        a.pid,
			env:        newEnvList(a.env).freeze(),
			dir:        adoptedDir(a.pid, s),
			cred:       e.adoptedCred(a.pid),
			exit:       w,
			done:       make(chan struct{}),
			startTicks: a.ticks,
			cgroup:     e.cgroups.Reopen(s), // nil without a cgroup root
			adopted:    &adoption{unwatch: unwatch, resume: a.probe},
		},
		live: handleLive{state: runtime.State{
			UID: s.UID, App: s.App, Instance: s.Instance, Ordinal: s.Ordinal,
			Revision: s.Revision, PID: a.pid, StartedAt: a.startedAt, Ports: maps.Clone(s.Ports),
		}},
	}
	maxSize, maxFiles := logfile.Limits(s.Spec)
	for i, stream := range streams {
		f, path := e.openAdoptedOutput(a.pid, s.UID, i, stream)
		h.output[i] = &reader{
			f:    f,
			fifo: path,
			out:  e.acquireLog(logfile.Path(e.stateDir, s.App, s.Instance, stream), maxSize, maxFiles),
			done: make(chan struct{}),
			p:    e.outputs,
		}
	}
	if len(s.Ports) > 0 {
		e.ports.Hold(s.UID, s.App, s.Ordinal, s.Ports)
	}
	e.adoptSockets(s.UID, s.App, a.pid, s.Spec, a.listenFDs)
	e.beginInit(h) // where its init steps are (init_linux.go)
	if s.Spec != nil {
		e.startProbes(h) // from a.probe: see resumeProbes
	} else {
		// Without the spec there is nothing to probe: it serves as it did.
		h.live.state.Probe = runtime.ProbeStatus{Started: true, Ready: true, ReadySince: a.startedAt}
	}
	e.mu.Lock()
	e.addHandleLocked(h)
	e.wg.Add(3)
	e.mu.Unlock()
	h.exit.start(e.outputs, func() { e.waitAdopted(h) })
	e.startReader(h.output[0])
	e.startReader(h.output[1])
	e.watchInit(h)
	return nil
}

// resumeProbes makes the probe worker of an adopted instance go on from
// the recorded status instead of from the start: a startup probe already
// passed is not run again, a ready instance stays ready until its
// readiness probe fails failureThreshold times, and an instance whose
// liveness or startup probe had failed is probed no more (the reconciler
// restarts it). startProbes calls it before the worker runs.
func (h *handle) resumeProbes(w *probe.Worker) {
	if h.adopted == nil || h.adopted.resume == nil {
		return
	}
	p := *h.adopted.resume
	h.live.state.Probe = p
	switch {
	case p.Failed != "":
		w.Startup, w.Readiness, w.Liveness = nil, nil, nil
		return
	case p.Started:
		w.Startup = nil
	}
	if w.Readiness != nil && p.Ready {
		w.Readiness.AssumeSuccess()
	}
}

// addExited adds the handle of an instance that exited while no daemon ran
// (or under the last one, before it was released), and queues its event:
// the reconciler absorbs the exit and restarts it under its policy.
func (e *Runtime) addExited(s runtime.StartSpec, pid int, startedAt time.Time, probe runtime.ProbeStatus, exit v1alpha1.ExitStatus) {
	for _, stream := range streams {
		os.Remove(fifoPath(e.runDir, s.UID, stream))
	}
	if cg := e.cgroups.Reopen(s); cg.Exited() { // reads memory.events, removes the cgroup
		exit.Reason = runtime.ReasonOOMKilled
	}
	probe.Ready = false
	h := &handle{
		handleFixed: handleFixed{
			spec:    s,
			pid:     pid,
			exit:    &pidWaiter{f: closedFile()},
			done:    make(chan struct{}),
			adopted: &adoption{},
		},
		live: handleLive{
			reaped:   true,
			finished: true,
			state: runtime.State{
				UID: s.UID, App: s.App, Instance: s.Instance, Ordinal: s.Ordinal, Revision: s.Revision,
				PID: pid, StartedAt: startedAt, Ports: maps.Clone(s.Ports), Probe: probe, Exit: &exit,
			},
		},
	}
	*h.live.state.Exit = e.initExit(h, exit) // a failed init step (init_linux.go)
	close(h.done)
	for i := range h.output {
		h.output[i] = &reader{f: closedFile(), done: make(chan struct{})}
		close(h.output[i].done)
	}
	e.mu.Lock()
	e.addHandleLocked(h)
	e.notifyLocked(s.App, s.UID)
	e.mu.Unlock()
	e.kickRun()
}

// removeStrayFIFOs deletes the FIFOs of the run dir that no live handle
// owns: those of instances that ended while no daemon ran.
func (e *Runtime) removeStrayFIFOs() {
	entries, err := os.ReadDir(e.runDir)
	if err != nil {
		return
	}
	e.mu.Lock()
	keep := map[string]bool{}
	for uid, h := range e.handles {
		if !h.live.finished {
			keep[uid] = true
		}
	}
	e.mu.Unlock()
	for _, ent := range entries {
		name := ent.Name()
		uid := strings.TrimSuffix(strings.TrimSuffix(name, ".stdout"), ".stderr")
		if uid != name && !keep[uid] && ent.Type()&os.ModeNamedPipe != 0 {
			os.Remove(filepath.Join(e.runDir, name))
		}
	}
}

// removeStrayExitRecords deletes the exit records of the run dir that no
// handle owns: those of instances released before the last daemon ended.
func (e *Runtime) removeStrayExitRecords() {
	entries, err := os.ReadDir(exitsDir(e.runDir))
	if err != nil {
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, ent := range entries {
		uid := strings.TrimSuffix(strings.TrimSuffix(strings.TrimSuffix(ent.Name(), ".tmp"), ".json"), ".init")
		if _, ok := e.handles[uid]; !ok {
			os.Remove(filepath.Join(exitsDir(e.runDir), ent.Name()))
		}
	}
}
