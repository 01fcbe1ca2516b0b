package watchers

import (
	"context"
	"path/filepath"
	"time"

	"proclet.dev/proclet/apis/v1alpha1"
)

// loop is the state of one Run, owned by its goroutine.
type loop struct {
	d       *Dir
	r       *reader
	ws      *watches
	db      debouncer
	emitted []v1alpha1.SourcedApp // the apps of the last snapshot emitted (by name); nil before the first
	logged  map[string]string     // path -> the error (and content) last logged for it
	down    string                // the unavailability last logged, "" while available
	writes  writes                // the manifests open for writing
	ready   bool                  // a file held as being written was closed: read it
	content *contents             // the apps' files (contentset.go)
	cwatch  watchSet              // the folders of the apps' files, as the last round found them
	settle  time.Time             // when an app's file becomes quiet: scan then; zero for none
	clogged map[string]string     // app -> the content problem last logged
}

func (l *loop) run(ctx context.Context) error {
	resync := time.NewTicker(l.d.opts.Resync)
	defer resync.Stop()
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	l.r.hold = l.held
	l.scan(ctx, true)
	for {
		if at, ok := l.due(); ok {
			timer.Reset(time.Until(at))
		} else {
			timer.Stop()
		}
		events, errs := l.ws.channels()
		select {
		case <-ctx.Done():
			return nil
		case ev, ok := <-events:
			if !ok {
				l.ws.rebuild()
				l.writes.reset()
				l.scan(ctx, true)
			} else if saveMark(filepath.Base(ev.Name)) {
				l.db.Leftover(time.Now()) // no scan, but a save may be under way
			} else if l.ws.relevant(ev) && l.db.Event(time.Now()) {
				l.scan(ctx, false)
			}
		case err, ok := <-errs:
			// An overflow lost events, any other error leaves the watches
			// in doubt: rescan now and rebuild them.
			if ok {
				l.d.log.Warn("file watch failed; rescanning and rebuilding the watches", "error", err)
			}
			l.ws.rebuild()
			l.writes.reset()
			l.scan(ctx, true)
		case <-l.ws.wake():
			l.pollWrites()
			if l.ready {
				l.ready = false
				if l.db.Event(time.Now()) {
					l.scan(ctx, false)
				}
			}
		case <-timer.C:
			now := time.Now()
			if l.writes.expire(now) && l.db.Event(now) || l.db.Fire(now) || l.settled(now) {
				l.scan(ctx, false)
			}
		case <-resync.C:
			l.scan(ctx, true)
		case <-l.d.rescan:
			l.scan(ctx, true)
		}
	}
}

// scan reads the directory and hands the result to the sink. Every scan
// but the first holds back a result that removes an app until the
// directory is quiet and a later scan confirms it (debouncer.Removal): a
// forced one too (resync, Rescan, a watch error), which can land in the
// middle of a save or of a folder's removal as well as an event scan can,
// and an event scan that began reading before the change's event came.
func (l *loop) scan(ctx context.Context, forced bool) {
	start := time.Now()
	s := l.r.read(ctx, start)
	if ctx.Err() != nil {
		return
	}
	if forced {
		l.db.Scanned(start)
	}
	if l.ws.sync(merged(s.watch, l.cwatch), s.err == nil) {
		l.db.Follow()
	}
	if l.ready { // a file held in this scan was closed since: read it again
		l.ready = false
		l.db.Follow()
	}
	if s.err != nil {
		if msg := s.err.Error(); msg != l.down {
			l.d.log.Warn("manifests directory unavailable; keeping the current apps", "error", s.err)
			l.down = msg
		}
		l.d.sink.Unavailable(s.err)
		return
	}
	if removes(l.emitted, s.snap) && !l.db.Removal(start, forced) {
		l.d.log.Debug("holding back a scan that removes apps until the directory is quiet")
		return
	}
	l.db.Emitted()
	if l.down != "" {
		l.d.log.Info("manifests directory available again")
		l.down = ""
	}
	snap := l.withContent(l.r.commit(s), s.watch, start)
	l.emitted = snap.Apps
	if l.emitted == nil {
		l.emitted = []v1alpha1.SourcedApp{}
	}
	l.logFileErrors(s)
	l.d.log.Debug("manifests read", "apps", len(snap.Apps), "files", len(snap.Files),
		"revision", snap.SourceRevision, "duration", time.Since(start))
	l.d.sink.Replace(snap)
}

// due is when the timer is to fire: the debouncer's scan, or the bound on
// waiting for a writer to close a file, whichever comes first.
func (l *loop) due() (time.Time, bool) {
	at, ok := l.db.Due()
	if w, wok := l.writes.due(); wok && (!ok || w.Before(at)) {
		at, ok = w, true
	}
	if !l.settle.IsZero() && (!ok || l.settle.Before(at)) {
		at, ok = l.settle, true
	}
	return at, ok
}

// pollWrites takes in the close watch's queued events. A close (or a
// replacement) of a file held as being written sets ready: a scan is to
// read it.
func (l *loop) pollWrites() {
	evs, overflow := l.ws.drainWrites()
	if overflow {
		l.writes.reset() // what is being written is unknown: read everything as it is
	}
	if l.writes.apply(evs, time.Now(), l.tracked) {
		l.ready = true
	}
}

// held is the reader's hold: whether the file at real is being written.
// The queue is drained first, so a write that returned before is known.
func (l *loop) held(real string) bool {
	l.pollWrites()
	return l.writes.held(real, time.Now())
}

// tracked reports whether writes to path are worth tracking: a manifest,
// by its name or as a file the last scan read (a link's target).
func (l *loop) tracked(path string) bool {
	name := filepath.Base(path)
	return manifestExt(name) && !ignoredName(name) || l.r.reals[path]
}

// removes reports whether snap lacks an app of the last snapshot emitted.
// Both are sorted by name (Snapshot.Apps): one walk through both, no set
// of thousands of names built at every scan.
func removes(emitted []v1alpha1.SourcedApp, snap v1alpha1.Snapshot) bool {
	if sameSlice(emitted, snap.Apps) {
		return false
	}
	j := 0
	for i := range emitted {
		name := emitted[i].App.Metadata.Name
		for j < len(snap.Apps) && snap.Apps[j].App.Metadata.Name < name {
			j++
		}
		if j == len(snap.Apps) || snap.Apps[j].App.Metadata.Name != name {
			return true
		}
	}
	return false
}

// logFileErrors logs each file's problem once per content and message,
// however many scans see it.
func (l *loop) logFileErrors(s scan) {
	seen := make(map[string]bool, len(s.snap.Files))
	for _, f := range s.snap.Files {
		if f.Error == nil {
			continue
		}
		seen[f.Path] = true
		key := s.hashes[f.Path] + "\x00" + f.Error.Error()
		if l.logged[f.Path] == key {
			continue
		}
		l.logged[f.Path] = key
		l.d.log.Warn("manifest not applied", "path", f.Path, "reason", f.Error.Reason,
			"error", f.Error.Error(), "kept_apps", f.Objects)
	}
	for p := range l.logged {
		if !seen[p] {
			delete(l.logged, p)
		}
	}
}
