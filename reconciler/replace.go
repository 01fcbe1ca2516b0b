package reconciler

import "proclet.dev/proclet/apis/v1alpha1"

// replaced is what Replace remembers of the last snapshot it applied, to
// skip the next one when it is the same again: the watcher re-sends the
// very Apps and Files slices of its last snapshot when nothing it read
// changed (watchers.Sink), which is every periodic resync of a quiet
// directory. Comparing 1000 apps field by field (and allocating their
// copies) cost milliseconds a resync; comparing two slice headers costs
// nothing.
type replaced struct {
	apps     []v1alpha1.SourcedApp
	files    []v1alpha1.FileStatus
	revision string
	// noop: applying the snapshot changed nothing (no app enqueued, no
	// event), so applying it again cannot either: the state Replace
	// reads (desired apps, revisions, file errors) is the one it left.
	noop bool
}

func replacedOf(snap v1alpha1.Snapshot, noop bool) replaced {
	return replaced{apps: snap.Apps, files: snap.Files, revision: snap.SourceRevision, noop: noop}
}

// same reports whether snap is the last snapshot again, by identity: the
// same slices (array and length) and revision, after a Replace that
// changed nothing.
func (p replaced) same(snap v1alpha1.Snapshot) bool {
	return p.noop && p.revision == snap.SourceRevision &&
		sameSlice(p.apps, snap.Apps) && sameSlice(p.files, snap.Files)
}

// sameSlice reports whether a and b are the same slice: same length and,
// unless empty, same first element.
func sameSlice[T any](a, b []T) bool {
	return len(a) == len(b) && (len(a) == 0 || &a[0] == &b[0])
}
