package exec

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"proclet.dev/proclet/internal/atomicfile"
	"proclet.dev/proclet/runtime"
	"proclet.dev/proclet/runtime/cgroup"
	"proclet.dev/proclet/runtime/logfile"
	"proclet.dev/proclet/runtime/ports"
)

// Options configure a Runtime.
type Options struct {
	// StateDir holds the logs (<StateDir>/logs/<app>/<instance>.<stream>.log)
	// and the run files, the output FIFOs (<RunDir>/<uid>.<stream>).
	StateDir string
	// RunDir is the output FIFOs' folder; "" is <StateDir>/run. On a
	// tmpfs, making a FIFO costs no disk inode (see TmpfsRunDir). A
	// daemon that follows another must use the same one to reopen the
	// FIFOs by path (it falls back to /proc/<pid>/fd otherwise).
	RunDir string
	// Log receives lifecycle and failure logs; nil discards them.
	Log *slog.Logger
	// Env is the daemon environment passed on to instances (without
	// PROCLET_API_KEY); nil means os.Environ().
	Env []string
	// SampleInterval is the most the CPU, memory and listening ports of
	// an instance's process tree in State.Usage may be old after
	// SampleStale, and how often Run samples the instances whose memory
	// limit is polled (0: DefaultSampleInterval; negative: never). See
	// "Sampling" in doc.go.
	SampleInterval time.Duration
	// OnSample, when set, is called once after each sampling pass, from
	// Run's sampling goroutine or the caller of SampleStale, one call at
	// a time, with no lock of the Runtime held. Sampling sends no Event.
	OnSample func()
	// OnProbe, when set, is called after every probe run with the app,
	// the probe ("startup", "readiness" or "liveness"), its result and
	// how long it took; from the probing goroutines, concurrently, with
	// no lock held. Probe runs send no Event; transitions do.
	OnProbe func(app, probe string, ok bool, d time.Duration)
	// CgroupRoot is a cgroup v2 folder delegated to the daemon: each
	// instance gets a cgroup under it with its memory and cpu limits
	// (runtime/cgroup). "": none; memory limits are then polled.
	CgroupRoot string
	// LogFileMode is the mode of the instances' log files and of the
	// folders made for them (plus x where r is set); 0 is
	// DefaultLogFileMode (0600). Files of another mode, left by an older
	// daemon, are given it when opened.
	LogFileMode os.FileMode
	// LogIdleClose is how long an instance's log file stays open with
	// nothing written to it (closed within 1.5 times that, reopened by
	// the next line); 0 is DefaultLogIdleClose, negative never.
	LogIdleClose time.Duration

	// ReservedFDs is how many of the process's descriptors
	// (RLIMIT_NOFILE) other parts of it may hold, the API's worst case:
	// the Runtime's caches (the samplers' held /proc stat descriptors, the
	// open log files) take only what these and the instances leave
	// (fdroom_linux.go).
	ReservedFDs int

	// fakeCgroupFS lets tests use a plain folder as CgroupRoot.
	fakeCgroupFS bool
}

// Runtime is the real Interface: every instance is an OS process of this host,
// in its own process group, with its output written to rotated log files.
// See doc.go for the design. Create it with New, run Run for the events,
// and end it with StopAll or Detach.
type Runtime struct {
	stateDir string
	runDir   string
	log      *slog.Logger
	env      []string
	euid     int // os.Geteuid(); a field so tests can pretend not to be root

	ports *ports.Manager // the instances' ports; see "Ports" in doc.go

	store *instanceStore // instances.json, for adoption by the next daemon

	cgroups *cgroup.Manager // nil without Options.CgroupRoot

	notify    *notifyListener // the sd_notify socket (notify_linux.go); nil when it could not be bound
	notifyErr string          // why not

	sampleInterval time.Duration // <= 0: no sampling
	onSample       func()
	samplers       samplers // sample_linux.go
	demand         onDemand // SampleStale's: the on-demand set's passes, at most one an interval

	onProbe func(app, probe string, ok bool, d time.Duration) // Options.OnProbe
	probes  probeScheduler                                    // runs every instance's probes (probe_linux.go)

	logFileMode os.FileMode        // Options.LogFileMode, defaulted
	openLogs    *logfile.OpenFiles // bounds the open log files (logfiles_linux.go)
	logIdle     time.Duration      // Options.LogIdleClose, defaulted; <= 0: never
	fds         fdRoom             // what the descriptor limit leaves to the caches

	events   chan runtime.Event
	kick     chan struct{} // capacity 1: "pending has something"
	detachCh chan struct{} // closed by Detach

	starts sync.WaitGroup // Start calls in flight; StopAll and Detach wait for them
	wg     sync.WaitGroup // every goroutine Runtime starts: waiters, readers, stoppers, probe workers

	// mu guards the fields below and the live part of each handle
	// (handle.live). It is never held across blocking I/O or a
	// channel send; kill(2), which never blocks, is made under it (signal).
	mu       sync.Mutex
	handles  map[string]*handle            // by uid
	byApp    map[string]map[string]*handle // the same handles, by app and uid: Instances(app) at 1000 apps
	logs     map[string]*sharedLog         // open log files by path, with their refs
	outputs  *outputPoller                 // reads the output FIFOs (output_poll_linux.go)
	pending  []runtime.Event               // exits not yet delivered by Run
	queued   map[string]bool               // uids in pending, to coalesce
	closing  bool                          // StopAll or Detach called: Start refuses
	detached bool                          // Detach called
}

var _ runtime.Interface = (*Runtime)(nil)

// New creates the state directories and returns an idle Runtime.
func New(opts Options) (*Runtime, error) {
	smallTable.warm() // before the Runtime opens anything (see forker_linux.go)
	if opts.StateDir == "" {
		return nil, fmt.Errorf("new exec runtime: empty state dir")
	}
	stateDir, err := filepath.Abs(opts.StateDir)
	if err != nil {
		return nil, fmt.Errorf("new exec runtime: %w", err)
	}
	runDir := opts.RunDir
	if runDir == "" {
		runDir = filepath.Join(stateDir, "run")
	}
	if runDir, err = filepath.Abs(runDir); err != nil {
		return nil, fmt.Errorf("new exec runtime: %w", err)
	}
	logFileMode := opts.LogFileMode
	if logFileMode == 0 {
		logFileMode = logfile.DefaultMode
	}
	for d, mode := range map[string]os.FileMode{runDir: 0o755, filepath.Join(stateDir, "logs"): logfile.DirMode(logFileMode)} {
		if err := os.MkdirAll(d, mode); err != nil {
			return nil, fmt.Errorf("new exec runtime: %w", err)
		}
	}
	log := opts.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	env := opts.Env
	if env == nil {
		env = os.Environ()
	}
	var cgroups *cgroup.Manager
	if opts.CgroupRoot != "" {
		if cgroups, err = cgroup.NewManager(opts.CgroupRoot, opts.fakeCgroupFS, log); err != nil {
			return nil, fmt.Errorf("new exec runtime: %w", err)
		}
	}
	e := &Runtime{
		cgroups:  cgroups,
		stateDir: stateDir,
		runDir:   runDir,
		log:      log,
		env:      env,
		euid:     os.Geteuid(),
		ports:    ports.NewManager(stateDir, log),

		sampleInterval: sampleInterval(opts.SampleInterval),
		onSample:       opts.OnSample,
		onProbe:        opts.OnProbe,
		logFileMode:    logFileMode,
		openLogs:       logfile.NewOpenFiles(),
		logIdle:        logIdleClose(opts.LogIdleClose),
		fds:            newFDRoom(opts.ReservedFDs),

		events:   make(chan runtime.Event, 64),
		kick:     make(chan struct{}, 1),
		detachCh: make(chan struct{}),
		handles:  make(map[string]*handle),
		byApp:    make(map[string]map[string]*handle),
		logs:     make(map[string]*sharedLog),
		queued:   make(map[string]bool),
		store:    newInstanceStore(stateDir),
	}
	e.store.saver = atomicfile.NewSaver(flushEvery, e.writeInstances)
	e.demand.maxAge, e.demand.now = e.sampleInterval, time.Now
	e.demand.pass = func(now time.Time) { e.samplePass(setOnDemand, now) }
	e.outputs = newOutputPoller(e)
	e.openNotify()
	e.adopt() // before anything can start: nothing runs twice (adopt_linux.go)
	return e, nil
}

// handle is one started instance. Its fields are split by who may touch
// them, so that the type says which lock a field needs:
//   - handleFixed, embedded: set before the handle is published (Start,
//     adoption) and only read afterwards, with no lock;
//   - live: guarded by Runtime.mu.
//
// What instances.json last held of it is not the handle's: the instance
// store keeps that (instanceStore.encoded, under the store's mu).
type handle struct {
	handleFixed
	live handleLive // guarded by Runtime.mu
}

// handleFixed is the part of a handle set before it is published and read
// only afterwards: it needs no lock.
type handleFixed struct {
	spec   runtime.StartSpec
	pid    int
	env    *envList            // for preStop
	dir    string              // for preStop
	cred   *syscall.Credential // for preStop; nil: the daemon's own
	exit   *pidWaiter          // the waiter's; Detach cancels it
	output [2]*reader          // stdout, stderr
	done   chan struct{}       // closed when the main process has exited
	cgroup *cgroup.Cgroup      // its own cgroup; nil without a cgroup root
	// startTicks is the process's start time (/proc/<pid>/stat): with pid,
	// its identity for the next daemon.
	startTicks uint64
	adopted    *adoption // nil for an instance this Runtime started
	// probeStop ends the probe worker (nil: no probes); call it with
	// Runtime.mu held (stopProbes).
	probeStop func()
}

// handleLive is the part of a handle that changes while it runs. Every
// field is guarded by Runtime.mu: touch it only as h.live, with e.mu held.
type handleLive struct {
	state      runtime.State
	stopReason string
	reaped     bool       // the waiter claimed the exited leader: no more group signals
	hook       *pidWaiter // the preStop hook running, if any
	finished   bool       // exit recorded, output drained
	// deferredProbes begins probing once the init steps are done
	// (init_watch_linux.go); nil: none kept.
	deferredProbes func()
	// limit is sampledLimitLocked's answer once limitKnown: each pass
	// asks it of every instance, and a quantity is parsed only once.
	limit      int64
	limitKnown bool
}

// Run delivers the events of Events until ctx is done. Exits are recorded
// in a coalescing set, so the waiters never block on a slow receiver; run
// it for as long as anyone reads Events.
//
// Run also owns the sampling goroutine (Options.SampleInterval) and the
// one closing idle log files (Options.LogIdleClose), and returns only
// after they have stopped.
func (e *Runtime) Run(ctx context.Context) error {
	var loops sync.WaitGroup
	defer loops.Wait()
	if e.sampleInterval > 0 {
		loops.Go(func() { e.sampleLoop(ctx) })
	}
	if e.logIdle > 0 {
		loops.Go(func() { e.logIdleLoop(ctx) })
	}
	var flushing sync.WaitGroup // writes instances.json (instances_store.go)
	flushing.Go(func() { e.store.saver.Run(ctx) })
	defer flushing.Wait()
	for {
		e.mu.Lock()
		batch := e.pending
		e.pending = nil
		clear(e.queued)
		e.mu.Unlock()
		for _, ev := range batch {
			select {
			case e.events <- ev:
			case <-ctx.Done():
				return nil
			}
		}
		select {
		case <-e.kick:
		case <-ctx.Done():
			return nil
		}
	}
}

// Events implements Interface.
func (e *Runtime) Events() <-chan runtime.Event { return e.events }

// notifyLocked queues an event for uid. Call with e.mu held, then kick.
func (e *Runtime) notifyLocked(app, uid string) {
	if !e.queued[uid] {
		e.queued[uid] = true
		e.pending = append(e.pending, runtime.Event{App: app, UID: uid})
	}
}

func (e *Runtime) kickRun() {
	e.store.markDirty() // every event is a change to persist
	select {
	case e.kick <- struct{}{}:
	default:
	}
}

// Instances implements Interface.
func (e *Runtime) Instances(app string) []runtime.State {
	e.mu.Lock()
	var out []runtime.State
	for _, h := range e.byApp[app] {
		out = append(out, h.stateLocked())
	}
	e.mu.Unlock()
	sort.Slice(out, func(i, j int) bool {
		if out[i].Ordinal != out[j].Ordinal {
			return out[i].Ordinal < out[j].Ordinal
		}
		return out[i].StartedAt.Before(out[j].StartedAt)
	})
	return out
}

// addHandleLocked records h under its uid (replacing one there) and its
// app. Caller holds e.mu.
func (e *Runtime) addHandleLocked(h *handle) {
	if old := e.handles[h.spec.UID]; old != nil {
		e.removeHandleLocked(old)
	}
	e.handles[h.spec.UID] = h
	m := e.byApp[h.spec.App]
	if m == nil {
		m = map[string]*handle{}
		e.byApp[h.spec.App] = m
	}
	m[h.spec.UID] = h
}

// removeHandleLocked forgets h. Caller holds e.mu.
func (e *Runtime) removeHandleLocked(h *handle) {
	if e.handles[h.spec.UID] == h {
		delete(e.handles, h.spec.UID)
	}
	if m := e.byApp[h.spec.App]; m[h.spec.UID] == h {
		delete(m, h.spec.UID)
		if len(m) == 0 {
			delete(e.byApp, h.spec.App)
		}
	}
}

// stateLocked returns a copy of the state that shares nothing with h.
func (h *handle) stateLocked() runtime.State {
	s := h.live.state
	s.LogError = h.logError()
	if s.Exit != nil {
		x := *s.Exit
		s.Exit = &x
	}
	return s
}

// Release implements Interface.
func (e *Runtime) Release(uid string) {
	e.mu.Lock()
	h, ok := e.handles[uid]
	released := ok && h.live.finished
	if released {
		e.removeHandleLocked(h)
	}
	e.mu.Unlock()
	if released {
		e.removeExitRecord(uid)
		e.removeInitProgress(uid)
		e.ports.Release(uid) // frees its ports, writes ports.json
		e.store.markDirty()
	}
}

// signal sends sig to h's process group unless the waiter has claimed the
// exited leader. Holding mu across kill(2) makes signalling and reaping
// mutually exclusive: until the waiter sets reaped, the leader is alive or a
// zombie, so its pid, the group id, cannot have been reused. With a cgroup,
// every process in it gets sig too, after the group (pids read from
// cgroup.procs are members when read). It reports whether the signal was
// sent to the group.
func (e *Runtime) signal(h *handle, sig syscall.Signal) bool {
	e.mu.Lock()
	if h.live.reaped || !h.signallable(e.detached) { // adopted: still that process?
		e.mu.Unlock()
		return false
	}
	sent := unix.Kill(-h.pid, sig) == nil
	e.mu.Unlock()
	h.cgroup.Signal(sig) // what left the group, if it has a cgroup
	return sent
}

func (e *Runtime) isDetached() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.detached
}
