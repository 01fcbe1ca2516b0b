package reconciler

import (
	"context"
	"crypto/rand"
	"errors"
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
	dirty          bool                // slots changed since the state file was saved
	saveKick       chan struct{}       // capacity 1: "dirty was set" (markDirtyLocked)
	dependentsOf   map[string][]string // app -> the desired apps depending on it (indexDependents)
	saveMu         sync.Mutex
	saved          map[string]*savedEncoding // each app's part of the file as last encoded (saveMu)
	replaced       replaced                  // the last snapshot Replace applied (replace.go)
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
		q: newQueue(), apps: map[string]*appState{}, fileErrs: map[string]string{}, saveKick: make(chan struct{}, 1),
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
	wg.Go(func() {
		// At most one write per saveEvery, and none while nothing changes:
		// an idle daemon has no timer to wake for.
		t := time.NewTimer(saveEvery)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-r.saveKick:
			}
			t.Reset(saveEvery)
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			r.save()
		}
	})
	<-ctx.Done()
	r.q.ShutDown()
	wg.Wait()
	r.save()
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
			r.markDirtyLocked()
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
		r.markDirtyLocked()
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
		if d := r.deriveStatus(st, in, observed, now); d > 0 && (out.requeue == 0 || d < out.requeue) {
			out.requeue = d
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

// execute applies the plan's actions through the runtime and records what
// happened in out.slots and the events.
func (r *Reconciler) execute(ctx context.Context, name string, in input, applied *v1alpha1.App, out *output, now time.Time) {
	for _, n := range out.notes {
		typ := "Normal"
		if n.warning {
			typ = "Warning"
		}
		r.record(Event{Time: now, Type: typ, Reason: n.reason, Object: n.object, App: name, Message: n.object + " " + n.message})
	}
	for i := 0; i < len(out.actions); i++ {
		a := out.actions[i]
		switch a.kind {
		case actRelease:
			r.countExit(name, in.observed, a.uid)
			r.rt.Release(a.uid)
		case actStop:
			if err := r.rt.Stop(a.uid, stopSpec(applied, a.reason)); err != nil {
				r.metrics.executorError()
				r.log.Debug("stop", "app", name, "uid", a.uid, "err", err)
				continue
			}
			r.record(Event{Time: now, Type: "Normal", Reason: "Stopping", Object: instanceName(name, a.ordinal), App: name,
				Message: fmt.Sprintf("%s stopping: %s", instanceName(name, a.ordinal), a.message)})
		case actStart:
			j := i + 1
			for j < len(out.actions) && out.actions[j].kind == actStart {
				j++
			}
			r.startAll(ctx, name, in, out.actions[i:j], out, now)
			i = j - 1
		}
	}
}

// startParallel bounds how many instances of one app start at once. A
// start is mostly the kernel's fork and exec, which a second core runs
// beside the first: one app of 1000 replicas started one at a time took
// 1.6 times as long as 1000 apps (reconciled by Options.Workers at once).
const startParallel = 4

// startAll starts the instances of a run of consecutive start actions, up
// to startParallel at once (one by one for an app with ports), then records the outcomes in the actions'
// order (slots, events, requeue), so the result does not depend on which
// start finished first.
func (r *Reconciler) startAll(ctx context.Context, name string, in input, starts []action, out *output, now time.Time) {
	specs := make([]runtime.StartSpec, len(starts))
	for k, a := range starts {
		specs[k] = r.startSpec(name, in, a, out)
	}
	results := make([]startResult, len(starts))
	if len(starts) == 1 || len(in.app.Spec.Ports) > 0 {
		// One by one where ports are allocated: the lowest free port of
		// a range goes to the lowest ordinal, as it did.
		for k := range starts {
			results[k].state, results[k].err = r.rt.Start(ctx, specs[k])
		}
	} else {
		sem := make(chan struct{}, startParallel)
		var wg sync.WaitGroup
		for k := range starts {
			sem <- struct{}{}
			wg.Go(func() {
				defer func() { <-sem }()
				results[k].state, results[k].err = r.rt.Start(ctx, specs[k])
			})
		}
		wg.Wait()
	}
	for k, a := range starts {
		r.started(name, in, a, specs[k], results[k], out, now)
	}
}

// startResult is what runtime.Start returned for one start action.
type startResult struct {
	state runtime.State
	err   error
}

// startSpec is what the runtime needs to start the action's instance; it
// gives the slot a new uid when it has none.
func (r *Reconciler) startSpec(name string, in input, a action, out *output) runtime.StartSpec {
	sl := out.slots[a.ordinal]
	if sl.UID == "" {
		sl.UID = newUID()
		out.slots[a.ordinal] = sl
	}
	spec := runtime.StartSpec{UID: sl.UID, App: name, Instance: instanceName(name, a.ordinal), Ordinal: a.ordinal,
		Revision: in.revision, Spec: &in.app.Spec}
	r.mu.RLock()
	if st := r.apps[name]; st != nil && st.desired != nil {
		spec.Dir = st.desired.Dir
	}
	r.mu.RUnlock()
	return spec
}

// started records the outcome of one start: the slot, the backoff of a
// failed start, the event.
func (r *Reconciler) started(name string, in input, a action, spec runtime.StartSpec, res startResult, out *output, now time.Time) {
	sl := out.slots[a.ordinal]
	inst := spec.Instance
	s, err := res.state, res.err
	if err != nil {
		r.metrics.executorError()
		sl.StartError, sl.StartReason = err.Error(), "StartFailed"
		if _, ok := errors.AsType[*runtime.PortInUseError](err); ok {
			sl.StartReason = "PortInUse"
		}
		sl.Failures, sl.NextStartAt = backoffFor(&in.app.Spec).failed(sl.Failures, time.Time{}, now)
		if sl.StartReason == "PortInUse" && sl.NextStartAt.After(now.Add(portRetry)) {
			// A port is freed by someone else: look again soon, whatever
			// the crash-loop curve says.
			sl.NextStartAt = now.Add(portRetry)
		}
		out.requeueAt(now, sl.NextStartAt)
		r.record(Event{Time: now, Type: "Warning", Reason: "FailedStart", Object: inst, App: name,
			Message: fmt.Sprintf("%s failed to start: %v (retry in %s)", inst, err, sl.NextStartAt.Sub(now).Round(time.Millisecond))})
	} else {
		sl.StartError, sl.StartReason, sl.LastStartAt = "", "", s.StartedAt
		r.record(Event{Time: now, Type: "Normal", Reason: "Started", Object: inst, App: name,
			Message: fmt.Sprintf("%s started, pid %d, revision %s (%s)", inst, s.PID, in.revision, a.message)})
	}
	out.slots[a.ordinal] = sl
}

// saveEvery is how often a changed state file is written: often enough
// that a daemon killed right after starting instances still knows them,
// seldom enough that a cold start of a thousand apps is a few writes.
const saveEvery = 200 * time.Millisecond

// portRetry bounds the wait before retrying an instance whose fixed port
// another process holds.
const portRetry = 5 * time.Second

// stopSpec is how app says to stop its instances (defaults when nil).
func stopSpec(app *v1alpha1.App, reason string) runtime.StopSpec {
	if app == nil {
		return runtime.StopSpecFor(nil, reason)
	}
	return runtime.StopSpecFor(&app.Spec, reason)
}

func instanceName(app string, ordinal int) string { return fmt.Sprintf("%s-%d", app, ordinal) }

// newUID returns a random RFC 4122 version 4 UUID.
func newUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
