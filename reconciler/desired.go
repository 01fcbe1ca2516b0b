package reconciler

import (
	"reflect"
	"slices"
	"time"

	"proclet.dev/proclet/apis/v1alpha1"
)

// desiredApp is the desired store's part of an app: what the snapshots
// asked for. Only Replace writes it (under r.mu); the desired app is
// replaced, never mutated, and shares its memory with the watcher's
// snapshot (see same.go).
type desiredApp struct {
	desired    *v1alpha1.SourcedApp // nil once removed, until its instances are gone
	revision   string
	generation int64
	created    time.Time           // when it was first applied (saved): metadata.creationTimestamp
	fileErr    *v1alpha1.FileError // its file's current problem: ManifestValid=False
	path       string              // the file the app last came from (saved: Owners)
	// held: the app has no desired version in this daemon's memory (it
	// was remembered from the last daemon) and the file it came from is
	// broken now. Its instances are left as they are, neither stopped nor
	// restarted, until the file is fixed or removed (heldApps).
	held bool
	// seen is the count of the apply (desiredStore.applies) that last
	// found the app in its snapshot and kept it: admitted, or refused
	// but running its last applied version.
	seen uint64
}

// desiredStore is what the snapshots said beyond each app's desired part:
// the files read and their problems, the source's state, the dependents
// index, and the last snapshot applied. Guarded by r.mu; written by
// Replace and Unavailable only.
type desiredStore struct {
	files          []v1alpha1.FileStatus
	fileErrs       map[string]string // path -> message last reported, to report each once
	sourceErr      string
	sourceRevision string
	lastChange     time.Time
	dependentsOf   map[string][]string // app -> the desired apps depending on it (indexDependents)
	replaced       replaced            // the last snapshot Replace applied (replace.go)
	applies        uint64              // snapshots applied so far (desiredApp.seen)
	// lastErrs is the problem of each file in the last apply, refusals
	// included: what an app's ManifestValid was decided from.
	lastErrs map[string]*v1alpha1.FileError
}

// Replace takes a new full snapshot of the desired state (watchers.Sink).
// A snapshot that is the last one again (replaced.same) changes nothing
// and costs nothing: that is every resync of an unchanged directory.
func (r *Reconciler) Replace(snap v1alpha1.Snapshot) {
	r.mu.Lock()
	if r.desired.replaced.same(snap) && r.synced && r.desired.sourceErr == "" {
		r.mu.Unlock()
		return
	}
	now := r.now()
	c := r.desired.apply(r.apps, snap, now, r.saver)
	enqueue, notes := c.enqueue, c.notes
	first := !r.synced
	if first {
		r.synced = true
		r.pendingInitial = map[string]bool{}
		for name, st := range r.apps {
			if st.seen == r.desired.applies {
				r.pendingInitial[name] = true
			}
		}
		r.ready = len(r.pendingInitial) == 0
		// Apps remembered from the last daemon, or running (adopted),
		// that the snapshot no longer has: reconcile them too, so
		// their instances stop.
		for name := range r.apps {
			enqueue = append(enqueue, name)
		}
	}
	r.desired.replaced = replacedOf(snap, !first && len(enqueue) == 0 && len(notes) == 0)
	if first {
		r.status.follow(r.apps) // readers see the new desired apps
	} else {
		followChanged(r.status, r.apps, enqueue) // only an app enqueued has a new desired version
	}
	r.mu.Unlock()
	if first {
		enqueue = append(enqueue, r.rt.Apps()...)
	}
	r.recordManifests(first, enqueue) // an app not enqueued was seen before
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
	changed := r.desired.sourceErr != err.Error()
	r.desired.sourceErr = err.Error()
	r.mu.Unlock()
	if changed {
		r.record(Event{Time: r.now(), Type: "Warning", Reason: "SourceUnavailable", Object: "manifests",
			Message: err.Error() + "; every app keeps running as it was"})
	}
}

// snapshotChanges is what applying a snapshot changed: the apps to
// reconcile, the events to record. The apps the snapshot keeps are those
// whose desiredApp.seen is the apply's count.
type snapshotChanges struct {
	enqueue []string
	notes   []Event
}

// followChanged shows readers the desired version of the named apps
// (statusStore.follow for those alone): a snapshot beside thousands of
// unchanged apps costs a look at the ones it changed.
func followChanged(s *statusStore, apps map[string]*appState, names []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, name := range names {
		if st := apps[name]; st != nil {
			s.entryLocked(name).desired = st.desired
		}
	}
}

// apply makes snap the desired state of apps: admitted apps replace their
// desired part (a new generation when their spec changed), refused ones
// keep their last applied version, apps the snapshot no longer has are
// marked removed. s is told when the state file must change.
//
// After the first, an apply looks only at the apps that differ from the
// last snapshot applied (replaced.changed): the others are in the state
// that snapshot left them in, which applying them again would not change.
// So a write beside thousands of apps costs a compare of each app's bytes
// with its last version's, and work for the apps it touches.
func (d *desiredStore) apply(apps map[string]*appState, snap v1alpha1.Snapshot, now time.Time, s *saver) snapshotChanges {
	d.applies++
	var c snapshotChanges
	errs := d.fileErrors(snap.Files, now, &c)
	admitted, refused := admit(snap.Apps, func(name string) bool {
		st := apps[name]
		return st != nil && st.desired != nil
	})
	files := slices.Clone(snap.Files)
	d.refuse(apps, refused, files, errs, now, &c)
	incremental := d.replaced.incremental(snap.Apps)
	if incremental {
		admitted = d.replaced.changed(snap.Apps, admitted, changedErrors(d.lastErrs, errs))
	}
	revs := newRevisions(apps, snap.Apps, admitted)
	deps := false // an app with dependsOn changed (incremental)
	for k, i := range admitted {
		sa := snap.Apps[i] // its own copy
		name := sa.App.Metadata.Name
		deps = deps || len(sa.App.Spec.DependsOn) > 0 || hasDeps(apps[name])
		if d.admitted(apps, &sa, revs[k], errs, now, s, &c) {
			c.enqueue = append(c.enqueue, name)
		}
	}
	removed := func(name string, st *appState) {
		if st != nil && st.desired != nil && st.seen != d.applies {
			deps = deps || hasDeps(st)
			st.desired = nil
			c.enqueue = append(c.enqueue, name)
			d.lastChange = now
		}
	}
	if incremental { // an app with a desired version is in the last snapshot
		for _, name := range d.replaced.gone(snap.Apps) {
			removed(name, apps[name])
		}
	} else {
		for name, st := range apps {
			removed(name, st)
		}
	}
	heldApps(apps, d.applies, errs, &c)
	if incremental && deps || !incremental && len(c.enqueue) > 0 { // the dependents changed
		d.indexDependents(apps)
	}
	d.files, d.lastErrs = files, errs
	d.sourceErr, d.sourceRevision = "", snap.SourceRevision
	return c
}

func hasDeps(st *appState) bool {
	return st != nil && st.desired != nil && len(st.desired.App.Spec.DependsOn) > 0
}

// changedErrors is the paths whose problem differs between two applies'
// (by value).
func changedErrors(last, now map[string]*v1alpha1.FileError) map[string]bool {
	out := map[string]bool{}
	for p, e := range now {
		if o := last[p]; o == nil || *o != *e {
			out[p] = true
		}
	}
	for p := range last {
		if now[p] == nil {
			out[p] = true
		}
	}
	return out
}

// heldApps marks held the apps with no desired version whose file (the
// one they last came from) is broken in this snapshot: a daemon restarted
// while a manifest is broken does not know the app's last good version,
// and must not stop what that version runs (a broken manifest never takes
// down a running app). A held app's file error is its ManifestValid
// problem; once the file is fixed the app is admitted (its instances
// adopted at their revision), once it is removed they stop.
func heldApps(apps map[string]*appState, applied uint64, errs map[string]*v1alpha1.FileError, c *snapshotChanges) {
	for name, st := range apps {
		var e *v1alpha1.FileError
		seen := st.seen == applied
		if !seen && st.desired == nil && st.path != "" {
			e = errs[st.path]
		}
		if held := e != nil; held != st.held || (held && st.fileErr != e) {
			st.held = held
			if held || !seen {
				st.fileErr = e
			}
			c.enqueue = append(c.enqueue, name)
		}
	}
}

// fileErrors returns each broken file's error by path, and notes each
// error not reported before.
func (d *desiredStore) fileErrors(files []v1alpha1.FileStatus, now time.Time, c *snapshotChanges) map[string]*v1alpha1.FileError {
	errs := map[string]*v1alpha1.FileError{}
	reported := map[string]string{}
	for _, f := range files {
		if f.Error != nil {
			errs[f.Path] = f.Error
			reported[f.Path] = f.Error.Error()
			if d.fileErrs[f.Path] != f.Error.Error() {
				c.notes = append(c.notes, Event{Time: now, Type: "Warning", Reason: f.Error.Reason, Object: f.Path, Message: f.Error.Error()})
			}
		}
	}
	d.fileErrs = reported
	return errs
}

// refuse records why each refused app was refused: on its file (files is
// the snapshot's copy, errs by path) and, once, as an event. A refused app
// that was running keeps its last applied version.
func (d *desiredStore) refuse(apps map[string]*appState, refused []refusal, files []v1alpha1.FileStatus, errs map[string]*v1alpha1.FileError, now time.Time, c *snapshotChanges) {
	for _, rf := range refused {
		name := rf.app.App.Metadata.Name
		errs[rf.app.Path] = rf.err
		for i := range files {
			if files[i].Path == rf.app.Path && files[i].Error == nil {
				files[i].Error = rf.err
			}
		}
		if d.fileErrs[rf.app.Path] != rf.err.Error() {
			c.notes = append(c.notes, Event{Time: now, Type: "Warning", Reason: rf.err.Reason, Object: rf.app.Path, App: name, Message: rf.err.Error()})
			d.fileErrs[rf.app.Path] = rf.err.Error()
		}
		if st := apps[name]; st != nil && st.desired != nil {
			st.seen = d.applies // keeps running its last applied version
			if !reflect.DeepEqual(st.fileErr, rf.err) {
				st.fileErr = rf.err
				c.enqueue = append(c.enqueue, name)
			}
		}
	}
}

// admitted makes sa (an admitted app of the snapshot, sa its own copy)
// the desired version of its app, and reports whether that changed it.
// newRev is its revision when newRevisions hashed it, else "". Its
// ManifestValid problem is its file's, else its content's (files it reads
// that cannot be read: sa is then its last good version). c gets an event
// when its content changed its revision or cannot be read.
func (d *desiredStore) admitted(apps map[string]*appState, sa *v1alpha1.SourcedApp, newRev string, errs map[string]*v1alpha1.FileError, now time.Time, s *saver, c *snapshotChanges) bool {
	name := sa.App.Metadata.Name
	st := apps[name]
	if st != nil {
		st.seen = d.applies
	}
	sa.App.Status = nil
	fileErr := errs[sa.Path]
	if fileErr == nil {
		fileErr = sa.ContentError
	}
	if st != nil && st.desired != nil {
		// Unchanged (the common case): keep what is stored, compared
		// with the stored generation, without hashing the spec.
		sa.App.Metadata.Generation, sa.App.Metadata.CreationTimestamp = st.generation, st.created
		if reflect.DeepEqual(st.fileErr, fileErr) && (sameSourced(st.desired, sa) || reflect.DeepEqual(*st.desired, *sa)) {
			return false
		}
	}
	digest := sa.ContentDigest()
	rev := newRev
	switch {
	case rev != "": // a new app, hashed beforehand (newRevisions)
	case st != nil && st.desired != nil && st.desired.ContentDigest() == digest && reflect.DeepEqual(st.desired.App.Spec, sa.App.Spec) &&
		st.desired.App.Metadata.Annotations[v1alpha1.RestartedAtAnnotation] == sa.App.Metadata.Annotations[v1alpha1.RestartedAtAnnotation] &&
		st.desired.App.Kind == sa.App.Kind && reflect.DeepEqual(st.desired.App.Job, sa.App.Job) && reflect.DeepEqual(st.desired.App.CronJob, sa.App.CronJob):
		rev = st.revision // unchanged spec (a Job's too), restartedAt and content: skip the canonical-JSON hash
	default:
		rev = v1alpha1.AppRevision(&sa.App, digest)
	}
	if st == nil {
		st = &appState{desiredApp: desiredApp{seen: d.applies}}
		apps[name] = st
	}
	c.notes = append(c.notes, contentNotes(st, sa, rev, fileErr, now)...)
	if st.generation == 0 || st.revision != rev {
		st.generation++
	}
	if st.created.IsZero() {
		st.created = now.UTC().Truncate(time.Second)
		s.markDirty()
	}
	sa.App.Metadata.Generation, sa.App.Metadata.CreationTimestamp = st.generation, st.created
	d.lastChange = now
	desired := *sa // its own copy: admitted is not kept
	st.desired, st.revision, st.fileErr = &desired, rev, fileErr
	if st.path != sa.Path {
		st.path = sa.Path
		s.markDirty()
	}
	return true
}
