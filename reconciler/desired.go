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
		for name := range c.seen {
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
	r.desired.replaced = replacedOf(snap, !first && len(enqueue) == 0 && len(notes) == 0)
	r.status.follow(r.apps) // readers see the new desired apps
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
	changed := r.desired.sourceErr != err.Error()
	r.desired.sourceErr = err.Error()
	r.mu.Unlock()
	if changed {
		r.record(Event{Time: r.now(), Type: "Warning", Reason: "SourceUnavailable", Object: "manifests",
			Message: err.Error() + "; every app keeps running as it was"})
	}
}

// snapshotChanges is what applying a snapshot changed: the apps to
// reconcile, the events to record, the names the snapshot keeps.
type snapshotChanges struct {
	enqueue []string
	notes   []Event
	seen    map[string]bool
}

// apply makes snap the desired state of apps: admitted apps replace their
// desired part (a new generation when their spec changed), refused ones
// keep their last applied version, apps the snapshot no longer has are
// marked removed. s is told when the state file must change.
func (d *desiredStore) apply(apps map[string]*appState, snap v1alpha1.Snapshot, now time.Time, s *saver) snapshotChanges {
	c := snapshotChanges{seen: map[string]bool{}}
	errs := d.fileErrors(snap.Files, now, &c)
	admitted, refused := admit(snap.Apps, func(name string) bool {
		st := apps[name]
		return st != nil && st.desired != nil
	})
	files := slices.Clone(snap.Files)
	d.refuse(apps, refused, files, errs, now, &c)
	revs := newRevisions(apps, admitted)
	for i := range admitted {
		if d.admitted(apps, &admitted[i], revs[i], errs, now, s, &c) {
			c.enqueue = append(c.enqueue, admitted[i].App.Metadata.Name)
		}
		c.seen[admitted[i].App.Metadata.Name] = true
	}
	for name, st := range apps {
		if !c.seen[name] && st.desired != nil {
			st.desired = nil
			c.enqueue = append(c.enqueue, name)
			d.lastChange = now
		}
	}
	heldApps(apps, errs, &c)
	if len(c.enqueue) > 0 { // desired changed
		d.indexDependents(apps)
	}
	d.files = files
	d.sourceErr, d.sourceRevision = "", snap.SourceRevision
	return c
}

// heldApps marks held the apps with no desired version whose file (the
// one they last came from) is broken in this snapshot: a daemon restarted
// while a manifest is broken does not know the app's last good version,
// and must not stop what that version runs (a broken manifest never takes
// down a running app). A held app's file error is its ManifestValid
// problem; once the file is fixed the app is admitted (its instances
// adopted at their revision), once it is removed they stop.
func heldApps(apps map[string]*appState, errs map[string]*v1alpha1.FileError, c *snapshotChanges) {
	for name, st := range apps {
		var e *v1alpha1.FileError
		if !c.seen[name] && st.desired == nil && st.path != "" {
			e = errs[st.path]
		}
		if held := e != nil; held != st.held || (held && st.fileErr != e) {
			st.held = held
			if held || !c.seen[name] {
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
			c.seen[name] = true // keeps running its last applied version
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
		st = &appState{}
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
