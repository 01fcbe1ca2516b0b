package reconciler

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"reflect"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"proclet.dev/proclet/apis/v1alpha1"
	"proclet.dev/proclet/internal/atomicfile"
	"proclet.dev/proclet/runtime"
)

// Options configure a Reconciler.
type Options struct {
	Runtime runtime.Interface
	Log     *slog.Logger
	// Workers is how many apps are reconciled at once (default 4).
	Workers int
	// NodeLabels are this host's labels, matched against nodeSelector.
	NodeLabels map[string]string
	// EventsSize bounds the events ring (default 1000).
	EventsSize int
	// Now is the clock read once at the top of each pass (default time.Now).
	Now func() time.Time
	// Registerer receives the loop metrics (metrics.go); nil: no metrics.
	Registerer prometheus.Registerer
	// StateFile is where the reconciler keeps what must survive a daemon
	// restart (restart counts, backoff, generations); "" keeps nothing.
	StateFile string
	// Limits is what the runtime enforces of resources.limits, for the
	// ResourceLimits condition (exec.Runtime.LimitSupport).
	Limits runtime.LimitSupport
}

// Reconciler converges the runtime to the desired snapshot: one pass per
// app at a time, level-triggered, each pass a pure plan applied by the
// executor. It is the loop, and wires the stores it reads and writes: the
// desired store (desired.go), the status store (status.go), the events
// ring, the saver of the state file and the metrics. It satisfies
// watchers.Sink and server.StatusReader.
type Reconciler struct {
	rt         runtime.Interface
	log        *slog.Logger
	workers    int
	nodeLabels map[string]string
	now        func() time.Time
	q          *queue
	events     *ring
	status     *statusStore // what readers see; its own lock (status.go)
	stateFile  string
	saver      *saver        // writes stateFile (saver.go)
	enc        stateEncoder  // guarded by the saver's lock (encodeState)
	metrics    *metrics      // nil: none
	stats      jobStatsStore // the runs of Jobs finished since the start (jobstats.go)
	limits     runtime.LimitSupport
	// beatAsked and beatAnswered are the heartbeat's tickets (heartbeat.go).
	beatAsked, beatAnswered atomic.Uint64

	// mu guards the fields below. Never held across runtime calls; taken
	// before the status store's lock when both are.
	mu             sync.RWMutex
	apps           map[string]*appState
	synced         bool
	pendingInitial map[string]bool // apps of the first snapshot not yet reconciled
	ready          bool
	desired        desiredStore // what the snapshots asked for (desired.go)
}

// appState is what the loop holds about one app: the desired store's
// part (what the snapshots asked for, written by Replace) and the loop's
// memory (what it last applied, the slots). What readers see of it is in
// the status store.
type appState struct {
	desiredApp
	applied *v1alpha1.App // the spec last reconciled (stop settings after removal)
	slots   map[int]slot
	job     *jobState // a Job's runs (job.go); nil for an App
	// kind is a Job's or CronJob's kind ("" for an App), saved: a held
	// object (its desired version unknown) is still shown as what it is.
	kind string
}

// New returns a Reconciler; Run starts it.
func New(opts Options) *Reconciler {
	r := &Reconciler{
		rt: opts.Runtime, log: opts.Log, workers: opts.Workers, nodeLabels: opts.NodeLabels, now: opts.Now,
		q: newQueue(), apps: map[string]*appState{}, status: newStatusStore(),
	}
	r.metrics = newMetrics(opts.Registerer)
	if r.log == nil {
		r.log = slog.New(slog.DiscardHandler)
	}
	if r.workers <= 0 {
		r.workers = 4
	}
	if r.now == nil {
		r.now = time.Now
	}
	size := opts.EventsSize
	if size <= 0 {
		size = 1000
	}
	r.events = newRing(size)
	r.stateFile = opts.StateFile
	r.saver = newSaver(r.stateFile, saveEvery, r.log, r.encodeState, atomicfile.Write)
	r.limits = opts.Limits
	r.restore()
	r.status.follow(r.apps) // no reader nor pass yet: no lock needed
	return r
}

// Run reconciles until ctx is done, then returns once its goroutines have
// exited. It leaves the instances running: Shutdown stops them.
func (r *Reconciler) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			select {
			case <-ctx.Done():
				return
			case ev := <-r.rt.Events():
				r.q.Add(ev.App)
			}
		}
	})
	for range r.workers {
		wg.Go(func() {
			for {
				name, ok := r.q.Get()
				if !ok {
					return
				}
				if !r.answerHeartbeat(name) {
					r.reconcileSafely(ctx, name)
				}
				r.q.Done(name)
			}
		})
	}
	wg.Go(func() { r.saver.run(ctx) })
	<-ctx.Done()
	r.q.ShutDown()
	wg.Wait()
	r.saver.save()
	return nil
}

// reconcileSafely turns a panic in one app's pass into a logged error and
// a retry, so one bad app cannot take the daemon down.
func (r *Reconciler) reconcileSafely(ctx context.Context, name string) {
	began, panicked := time.Now(), true
	defer func() { r.metrics.observeReconcile(time.Since(began), panicked) }()
	defer func() {
		if p := recover(); p != nil {
			r.log.Error("reconcile panicked", "app", name, "panic", fmt.Sprint(p))
			r.record(Event{Time: r.now(), Type: "Warning", Reason: "ReconcileError", Object: name, App: name,
				Message: fmt.Sprintf("internal error: %v", p)})
			r.q.AddAfter(name, time.Second)
		}
	}()
	r.reconcile(ctx, name)
	panicked = false
}

func (r *Reconciler) record(e Event) {
	r.events.add(e)
	level := slog.LevelInfo
	if e.Type == "Warning" {
		level = slog.LevelWarn
	}
	r.log.Log(context.Background(), level, e.Message, "reason", e.Reason, "object", e.Object)
}

// reconcile is one pass for one app: read, plan, execute, write status.
func (r *Reconciler) reconcile(ctx context.Context, name string) {
	now := r.now()
	st, in, applied := r.passInput(name)
	in.observed, in.now = r.rt.Instances(name), now
	out := planPass(in)
	r.execute(ctx, name, in, applied, &out, now)
	observed := r.rt.Instances(name)
	wake := r.storePass(name, st, in, applied, observed, &out, now)
	for _, d := range wake {
		r.q.Add(d)
	}
	switch {
	case out.started():
		// Level-triggered: look again at once, so a rollout takes its next
		// step as soon as the new instance counts as available.
		r.q.Add(name)
	case out.requeue > 0:
		r.q.AddAfter(name, out.requeue)
	}
}

// passInput reads what a pass of app name plans from (all but the
// observed instances and the time), and the spec its stops follow.
func (r *Reconciler) passInput(name string) (*appState, input, *v1alpha1.App) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	st := r.apps[name]
	in := input{synced: r.synced}
	var applied *v1alpha1.App
	if st != nil {
		in.revision, in.slots = st.revision, maps.Clone(st.slots)
		applied = st.applied
		in.held, in.job = st.held, st.job
		if st.desired != nil {
			in.app = &st.desired.App
			applied = in.app
			in.replicas = r.replicasOf(in.app)
			in.waiting = r.waitingFor(in.app)
		}
	}
	return st, in, applied
}

// storePass keeps what the pass of in did (out: the slots, forgetting a
// removed app), derives and publishes the app's status, and returns the
// dependents to wake. out.requeue is shortened to when the status may
// change with no event.
func (r *Reconciler) storePass(name string, st *appState, in input, applied *v1alpha1.App, observed []runtime.State, out *output, now time.Time) (wake []string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if st == nil || r.apps[name] != st {
		return nil
	}
	if !reflect.DeepEqual(st.slots, out.slots) || out.forget {
		r.saver.markDirty()
	}
	st.slots, st.applied = out.slots, applied
	depChanged := r.storeJob(name, st, out.job)
	if out.forget && st.desired == nil {
		delete(r.apps, name)
		r.metrics.forget(name)
		r.stats.forget(name)
		depChanged = r.status.remove(name) || depChanged
	} else {
		prev, prog := r.status.derived(name)
		si := r.statusInputLocked(name, st, prev, prog, in, observed, now)
		d := r.status.deriveFor(name, si)
		if d.recheck > 0 && (out.requeue == 0 || d.recheck < out.requeue) {
			out.requeue = d.recheck
		}
		depChanged = r.status.publish(name, st.desired, d) || depChanged
	}
	if depChanged {
		wake = r.desired.dependentsOf[name] // never changed once made: read after unlock
	}
	if r.pendingInitial[name] {
		delete(r.pendingInitial, name)
		r.ready = len(r.pendingInitial) == 0
	}
	return wake
}

// statusInputLocked is what deriveStatus needs of st, whose last derived
// view and progress are prev and prog, after a pass of in that observed
// observed. Caller holds r.mu.
func (r *Reconciler) statusInputLocked(name string, st *appState, prev *v1alpha1.App, prog progress, in input, observed []runtime.State, now time.Time) statusInput {
	si := statusInput{desired: st.desired, applied: st.applied, revision: st.revision, generation: st.generation,
		fileErr: st.fileErr, slots: st.slots, prev: prev, progress: prog, pass: in, observed: observed,
		synced: r.synced, sourceRevision: r.desired.sourceRevision, nodeMatches: true, nodeLabels: r.nodeLabels, limits: r.limits, now: now, job: st.job}
	if st.held && si.applied == nil {
		// Shown by name with its instances and ManifestValid=False (its
		// file's error); never stored as applied (stops use the defaults).
		si.applied = heldObject(name, st.kind)
	}
	if in.app != nil {
		si.nodeMatches = r.nodeMatches(in.app)
	}
	return si
}

// replicasOf is the replicas to run: 0 when the node selector does not
// match this host's labels.
func (r *Reconciler) replicasOf(app *v1alpha1.App) int {
	if !r.nodeMatches(app) {
		return 0
	}
	if app.Spec.Replicas == nil {
		return 1
	}
	return int(*app.Spec.Replicas)
}

func (r *Reconciler) nodeMatches(app *v1alpha1.App) bool {
	for k, v := range app.Spec.NodeSelector {
		if r.nodeLabels[k] != v {
			return false
		}
	}
	return true
}
