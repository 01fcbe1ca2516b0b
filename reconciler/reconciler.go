package reconciler

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"reflect"
	"slices"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"proclet.dev/proclet/apis/v1alpha1"
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
	// ResourceLimits condition (runtime.Exec.LimitSupport).
	Limits runtime.LimitSupport
}

// Reconciler converges the runtime to the desired snapshot: one pass per
// app at a time, level-triggered, each pass a pure plan applied by the
// executor. It satisfies watchers.Sink and server.StatusReader.
type Reconciler struct {
	rt         runtime.Interface
	log        *slog.Logger
	workers    int
	nodeLabels map[string]string
	now        func() time.Time
	q          *queue
	events     *ring
	watchers   broadcaster
	stateFile  string
	saver      *saver // writes stateFile (saver.go)
	enc        stateEncoder
	metrics    *metrics // nil: none
	limits     runtime.LimitSupport

	// mu guards the fields below. Never held across runtime calls.
	mu             sync.RWMutex
	apps           map[string]*appState
	files          []v1alpha1.FileStatus
	fileErrs       map[string]string // path -> message last reported, to report each once
	synced         bool
	pendingInitial map[string]bool // apps of the first snapshot not yet reconciled
	ready          bool
	sourceErr      string
	sourceRevision string
	lastChange     time.Time
	dependentsOf   map[string][]string // app -> the desired apps depending on it (indexDependents)
	replaced       replaced            // the last snapshot Replace applied (replace.go)
}

// appState is everything the reconciler holds about one app. The desired
// app is replaced, never mutated.
type appState struct {
	desired    *v1alpha1.SourcedApp // nil once removed, until its instances are gone
	revision   string
	generation int64
	fileErr    *v1alpha1.FileError // its file's current problem: ManifestValid=False
	applied    *v1alpha1.App       // the spec last reconciled (stop settings after removal)
	slots      map[int]slot
	path       string // the file the app last came from (saved: Owners)
	// Derived by the last pass, for readers.
	view      *v1alpha1.App
	instances []v1alpha1.Instance
	progress  progress
}

// New returns a Reconciler; Run starts it.
func New(opts Options) *Reconciler {
	r := &Reconciler{
		rt: opts.Runtime, log: opts.Log, workers: opts.Workers, nodeLabels: opts.NodeLabels, now: opts.Now,
		q: newQueue(), apps: map[string]*appState{}, fileErrs: map[string]string{},
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
	r.saver = newSaver(r.stateFile, saveEvery, r.log, r.encodeState, runtime.WriteFileAtomic)
	r.limits = opts.Limits
	r.restore()
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
				r.reconcileSafely(ctx, name)
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

// Replace takes a new full snapshot of the desired state (watchers.Sink).
// A snapshot that is the last one again (replaced.same) changes nothing
// and costs nothing: that is every resync of an unchanged directory.
func (r *Reconciler) Replace(snap v1alpha1.Snapshot) {
	r.mu.Lock()
	if r.replaced.same(snap) && r.synced && r.sourceErr == "" {
		r.mu.Unlock()
		return
	}
	now := r.now()
	var enqueue []string
	var notes []Event
	errs := map[string]*v1alpha1.FileError{}
	newFileErrs := map[string]string{}
	for _, f := range snap.Files {
		if f.Error != nil {
			errs[f.Path] = f.Error
			newFileErrs[f.Path] = f.Error.Error()
			if r.fileErrs[f.Path] != f.Error.Error() {
				notes = append(notes, Event{Time: now, Type: "Warning", Reason: f.Error.Reason, Object: f.Path, Message: f.Error.Error()})
			}
		}
	}
	r.fileErrs = newFileErrs
	admitted, refused := admit(snap.Apps, func(name string) bool {
		st := r.apps[name]
		return st != nil && st.desired != nil
	})
	files := slices.Clone(snap.Files)
	seen := map[string]bool{}
	for _, rf := range refused {
		name := rf.app.App.Metadata.Name
		errs[rf.app.Path] = rf.err
		for i := range files {
			if files[i].Path == rf.app.Path && files[i].Error == nil {
				files[i].Error = rf.err
			}
		}
		if r.fileErrs[rf.app.Path] != rf.err.Error() {
			notes = append(notes, Event{Time: now, Type: "Warning", Reason: rf.err.Reason, Object: rf.app.Path, App: name, Message: rf.err.Error()})
			r.fileErrs[rf.app.Path] = rf.err.Error()
		}
		if st := r.apps[name]; st != nil && st.desired != nil {
			seen[name] = true // keeps running its last applied version
			if !reflect.DeepEqual(st.fileErr, rf.err) {
				st.fileErr = rf.err
				enqueue = append(enqueue, name)
			}
		}
	}
	for i := range admitted {
		sa := &admitted[i]
		name := sa.App.Metadata.Name
		seen[name] = true
		st := r.apps[name]
		sa.App.Status = nil
		if st != nil && st.desired != nil {
			// Unchanged (the common case): keep what is stored, compared
			// with the stored generation, without hashing the spec.
			sa.App.Metadata.Generation = st.generation
			if reflect.DeepEqual(st.fileErr, errs[sa.Path]) && (sameSourced(st.desired, sa) || reflect.DeepEqual(*st.desired, *sa)) {
				continue
			}
		}
		var rev string
		if st != nil && st.desired != nil && reflect.DeepEqual(st.desired.App.Spec, sa.App.Spec) {
			rev = st.revision // unchanged spec: skip the canonical-JSON hash
		} else {
			rev = v1alpha1.Revision(&sa.App.Spec)
		}
		if st == nil {
			st = &appState{}
			r.apps[name] = st
		}
		if st.generation == 0 || st.revision != rev {
			st.generation++
		}
		sa.App.Metadata.Generation = st.generation
		enqueue = append(enqueue, name)
		r.lastChange = now
		desired := *sa // its own copy: admitted is not kept
		st.desired, st.revision, st.fileErr = &desired, rev, errs[sa.Path]
		if st.path != sa.Path {
			st.path = sa.Path
			r.saver.markDirty()
		}
	}
	for name, st := range r.apps {
		if !seen[name] && st.desired != nil {
			st.desired = nil
			enqueue = append(enqueue, name)
			r.lastChange = now
		}
	}
	if len(enqueue) > 0 { // desired changed
		r.indexDependents()
	}
	r.files = files
	r.sourceErr, r.sourceRevision = "", snap.SourceRevision
	first := !r.synced
	if first {
		r.synced = true
		r.pendingInitial = map[string]bool{}
		for name := range seen {
			r.pendingInitial[name] = true
		}
		r.ready = len(r.pendingInitial) == 0
		// Apps remembered from the last daemon, or running (adopted),
		// that the snapshot no longer has: reconcile them too, so
		// their instances stop.
		for name := range r.apps {
			enqueue = append(enqueue, name)
		}
	}
	r.replaced = replacedOf(snap, !first && len(enqueue) == 0 && len(notes) == 0)
	r.mu.Unlock()
	if first {
		enqueue = append(enqueue, r.rt.Apps()...)
	}
	r.recordManifests()
	for _, e := range notes {
		r.record(e)
	}
	for _, name := range enqueue {
		r.q.Add(name)
	}
}

// Unavailable records that the manifests directory cannot be read. The
// desired state stays as it was: a sync glitch must not stop every app.
func (r *Reconciler) Unavailable(err error) {
	r.mu.Lock()
	changed := r.sourceErr != err.Error()
	r.sourceErr = err.Error()
	r.mu.Unlock()
	if changed {
		r.record(Event{Time: r.now(), Type: "Warning", Reason: "SourceUnavailable", Object: "manifests",
			Message: err.Error() + "; every app keeps running as it was"})
	}
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
	r.mu.RLock()
	st := r.apps[name]
	synced := r.synced
	var in input
	var applied *v1alpha1.App
	if st != nil {
		in = input{revision: st.revision, slots: maps.Clone(st.slots)}
		applied = st.applied
		if st.desired != nil {
			in.app = &st.desired.App
			applied = in.app
			in.replicas = r.replicasOf(in.app)
			in.waiting = r.waitingFor(in.app)
		}
	}
	r.mu.RUnlock()
	in.observed, in.synced, in.now = r.rt.Instances(name), synced, now
	out := plan(in)
	r.execute(ctx, name, in, applied, &out, now)
	observed := r.rt.Instances(name)

	r.mu.Lock()
	if st == nil || r.apps[name] != st {
		r.mu.Unlock()
		return
	}
	if !reflect.DeepEqual(st.slots, out.slots) || out.forget {
		r.saver.markDirty()
	}
	st.slots, st.applied = out.slots, applied
	prevView, prevInsts := st.view, st.instances
	prevReady, prevStarted := depState(st)
	if out.forget && st.desired == nil {
		delete(r.apps, name)
		r.metrics.forget(name)
		st.instances = nil
		r.watchers.publish(changes(prevView, prevInsts, nil, nil))
	} else {
		d := deriveStatus(r.statusInputLocked(st, in, observed, now))
		if d.view != nil {
			st.view, st.instances, st.progress = d.view, d.instances, d.progress
		}
		if d.recheck > 0 && (out.requeue == 0 || d.recheck < out.requeue) {
			out.requeue = d.recheck
		}
		r.watchers.publish(changes(prevView, prevInsts, st.view, st.instances))
	}
	var wake []string
	if ready, started := depState(st); ready != prevReady || started != prevStarted {
		wake = r.dependents(name)
	}
	if r.pendingInitial[name] {
		delete(r.pendingInitial, name)
		r.ready = len(r.pendingInitial) == 0
	}
	r.mu.Unlock()
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

// statusInputLocked is what deriveStatus needs of st after a pass of in
// that observed observed. Caller holds r.mu.
func (r *Reconciler) statusInputLocked(st *appState, in input, observed []runtime.State, now time.Time) statusInput {
	si := statusInput{desired: st.desired, applied: st.applied, revision: st.revision, generation: st.generation,
		fileErr: st.fileErr, slots: st.slots, prev: st.view, progress: st.progress, pass: in, observed: observed,
		synced: r.synced, sourceRevision: r.sourceRevision, nodeMatches: true, limits: r.limits, now: now}
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
