package watchers

import (
	"maps"
	"time"

	"proclet.dev/proclet/apis/v1alpha1"
)

// withContent gives an emitted snapshot's apps their content (contents),
// watches the folders of their files, schedules the scan at which a file
// changed too recently becomes quiet, and logs each app's content problem
// once. manifests is the scan's own watch set; start is when the scan
// began (the snapshot's ReadAt: a file is quiet as of then).
func (l *loop) withContent(snap v1alpha1.Snapshot, manifests watchSet, start time.Time) v1alpha1.Snapshot {
	round := l.content.resolve(snap, start)
	l.content.commit(round)
	l.settle = round.until
	if !sameWatchSet(round.watch, l.cwatch) {
		l.cwatch = round.watch
		if l.ws.sync(merged(manifests, l.cwatch), true) {
			l.db.Follow()
		}
	}
	seen := map[string]bool{}
	for _, e := range round.errs {
		app := e.File + "\x00" + e.Field
		seen[app] = true
		if l.clogged[app] != e.Error() {
			l.clogged[app] = e.Error()
			l.d.log.Warn("an app's files cannot be read; it keeps its last good version", "error", e.Error())
		}
	}
	for k := range l.clogged {
		if !seen[k] {
			delete(l.clogged, k)
		}
	}
	return round.snap
}

// settled reports whether the time a file was to become quiet has come
// (and forgets it: the scan it causes sets it again if need be).
func (l *loop) settled(now time.Time) bool {
	if l.settle.IsZero() || now.Before(l.settle) {
		return false
	}
	l.settle = time.Time{}
	return true
}

// merged is set with the folders of extra added.
func merged(set, extra watchSet) watchSet {
	if len(extra) == 0 {
		return set
	}
	set = maps.Clone(set)
	if set == nil {
		set = watchSet{}
	}
	for dir, names := range extra {
		if names == nil {
			set.all(dir)
			continue
		}
		for n := range names {
			set.name(dir, n)
		}
	}
	return set
}

func sameWatchSet(a, b watchSet) bool {
	return maps.EqualFunc(a, b, func(x, y map[string]bool) bool { return (x == nil) == (y == nil) && maps.Equal(x, y) })
}
