package reconciler

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"proclet.dev/proclet/apis/v1alpha1"
)

// The readers of the status store. Each takes its read lock only: a
// reader never waits for a snapshot being applied nor a pass being
// planned, only for a pass publishing its result.

// Apps returns every app with its status, sorted by name (deep copies).
func (r *Reconciler) Apps() []v1alpha1.App { return r.status.list() }

// App returns one app with its status (a deep copy).
func (r *Reconciler) App(name string) (v1alpha1.App, bool) { return r.status.app(name) }

// SharedApps is Apps without the deep copies, for read paths that run
// often over every app (a /metrics scrape): the apps are the ones the
// reconciler published and are shared with it and with every other
// caller. Never modify them, nor anything they point to. Published views
// are replaced by the next pass, never mutated, so a caller may keep them.
func (r *Reconciler) SharedApps() []*v1alpha1.App { return r.status.sharedList() }

// Instances returns the instances of app (every app when app is empty),
// sorted by app and ordinal; ok is false for an unknown app.
func (r *Reconciler) Instances(app string) ([]v1alpha1.Instance, bool) {
	return r.status.instancesOf(app, true)
}

// SharedInstances is Instances without the deep copies, for read paths
// that run often over every instance (/api/v1/instances, /metrics): the
// slice and the Instance structs in it are the caller's, but their maps,
// slices and pointers (Ports, Listening, StartedAt, NextStartAt, LastExit)
// are shared with the reconciler and every other caller. Never modify
// what they point to; set a field to a new value instead. Published
// instances are replaced, never mutated, so a caller may keep them.
func (r *Reconciler) SharedInstances(app string) ([]v1alpha1.Instance, bool) {
	return r.status.instancesOf(app, false)
}

func (s *statusStore) list() []v1alpha1.App {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]v1alpha1.App, 0, len(s.apps))
	for _, sh := range s.apps {
		if v := sh.viewCopy(); v != nil {
			out = append(out, *v)
		}
	}
	slices.SortFunc(out, func(a, b v1alpha1.App) int { return strings.Compare(a.Metadata.Name, b.Metadata.Name) })
	return out
}

func (s *statusStore) app(name string) (v1alpha1.App, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	sh, ok := s.apps[name]
	if !ok {
		return v1alpha1.App{}, false
	}
	v := sh.viewCopy()
	if v == nil {
		return v1alpha1.App{}, false
	}
	return *v, true
}

func (s *statusStore) sharedList() []*v1alpha1.App {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]*v1alpha1.App, 0, len(s.apps))
	for _, sh := range s.apps {
		if v := sh.sharedView(); v != nil {
			out = append(out, v)
		}
	}
	slices.SortFunc(out, func(a, b *v1alpha1.App) int { return strings.Compare(a.Metadata.Name, b.Metadata.Name) })
	return out
}

// sharedView is viewCopy without a copy when the published view can be
// shown as it is (it has been derived and no edit is pending). Caller
// holds s.mu.
func (sh *shownApp) sharedView() *v1alpha1.App {
	if sh.notApp() {
		return nil
	}
	if sh.view != nil && (sh.desired == nil || sh.desired.App.Metadata.Generation == sh.view.Metadata.Generation) {
		return sh.view
	}
	return sh.viewCopy()
}

// viewCopy is the app as last derived, or, before its first pass, the
// desired app with a status saying so. Caller holds s.mu.
func (sh *shownApp) viewCopy() *v1alpha1.App {
	if sh.notApp() {
		return nil
	}
	if sh.view != nil {
		v := sh.view.DeepCopy()
		if sh.desired != nil && sh.desired.App.Metadata.Generation != v.Metadata.Generation {
			// An edit the reconciler has not acted on yet: say so
			// (generation ahead of observedGeneration), keep the rest.
			v.Metadata.Generation = sh.desired.App.Metadata.Generation
		}
		return v
	}
	if sh.desired == nil {
		return nil
	}
	v := sh.desired.App.DeepCopy()
	v.Status = &v1alpha1.AppStatus{Source: sh.desired.Path, Conditions: []v1alpha1.Condition{}}
	return v
}

// notApp reports whether sh is a Job or a CronJob (shown by their own
// readers, jobview.go, never as an App). Caller holds s.mu.
func (sh *shownApp) notApp() bool {
	return sh.job != nil || sh.cron != nil || (sh.desired != nil && !sh.desired.App.IsApp())
}

// instancesOf is Instances (deep copies) when clone is set, else
// SharedInstances.
func (s *statusStore) instancesOf(app string, clone bool) ([]v1alpha1.Instance, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if app != "" {
		sh, ok := s.apps[app]
		switch {
		case !ok:
			return nil, false
		case clone:
			return cloneInstances(sh.instances), true
		}
		return append(make([]v1alpha1.Instance, 0, len(sh.instances)), sh.instances...), true
	}
	names := make([]string, 0, len(s.apps))
	n := 0
	for name, sh := range s.apps {
		names = append(names, name)
		n += len(sh.instances)
	}
	if n == 0 {
		return nil, true
	}
	slices.Sort(names)
	out := make([]v1alpha1.Instance, 0, n)
	for _, name := range names {
		if clone {
			out = appendClones(out, s.apps[name].instances)
		} else {
			out = append(out, s.apps[name].instances...)
		}
	}
	return out, true
}

func cloneInstances(in []v1alpha1.Instance) []v1alpha1.Instance {
	return appendClones(make([]v1alpha1.Instance, 0, len(in)), in)
}

// appendClones appends deep copies of in to out.
func appendClones(out, in []v1alpha1.Instance) []v1alpha1.Instance {
	for _, x := range in {
		if x.Ports != nil {
			m := make(map[string]int32, len(x.Ports))
			for k, v := range x.Ports {
				m[k] = v
			}
			x.Ports = m
		}
		x.Listening = slices.Clone(x.Listening)
		if x.LastExit != nil {
			e := *x.LastExit
			x.LastExit = &e
		}
		out = append(out, x)
	}
	return out
}

// Ready reports whether the first full snapshot has been read and every
// app in it reconciled once (/readyz).
func (r *Reconciler) Ready() bool {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.ready
}

// Events returns up to limit events, newest first, of app when not empty.
func (r *Reconciler) Events(app string, limit int) []Event { return r.events.list(app, limit) }

// Manifests returns every manifest file read, with its problem.
func (r *Reconciler) Manifests() []v1alpha1.FileStatus {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return slices.Clone(r.desired.files)
}

// SourceError is why the manifests directory cannot be read now, or "".
func (r *Reconciler) SourceError() string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.desired.sourceErr
}

// SourceRevision is the revision of the manifests folder the last
// snapshot applied was read at (v1alpha1.Snapshot.SourceRevision), or "".
func (r *Reconciler) SourceRevision() string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.desired.sourceRevision
}

// forgetSlots clears every app's slots (restart counts, backoff, last
// exits) and saves the state file, once a shutdown stopped every instance:
// the next daemon starts them afresh and counts their restarts from zero,
// as after a first start. Only a daemon that leaves instances running
// (--on-exit keep, a kill -9, a shutdown that timed out) hands its counts
// and backoff on, to the daemon that adopts them.
func (r *Reconciler) forgetSlots() {
	r.mu.Lock()
	for _, st := range r.apps {
		if len(st.slots) > 0 {
			st.slots = nil
			r.saver.markDirty()
		}
	}
	r.mu.Unlock()
	r.saver.save()
}

// Shutdown stops every instance gracefully, each with its app's stop
// signal, preStop and grace period, all at once, and waits until they have
// exited or ctx ends. Call it after Run has returned, so that nothing
// restarts them meanwhile.
func (r *Reconciler) Shutdown(ctx context.Context) error {
	r.mu.RLock()
	specs := map[string]*v1alpha1.App{}
	for name, st := range r.apps {
		specs[name] = st.applied
	}
	r.mu.RUnlock()
	remaining := func() int {
		n := 0
		for name, app := range specs {
			for _, s := range r.rt.Instances(name) {
				if s.Running() {
					n++
					if !s.Stopping {
						_ = r.rt.Stop(s.UID, stopSpec(app, ReasonStopped))
					}
				}
			}
		}
		return n
	}
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		n := remaining()
		if n == 0 {
			r.forgetSlots()
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("shutdown: %d instances still running: %w", n, ctx.Err())
		case <-r.rt.Events():
		case <-tick.C:
		}
	}
}
