package reconciler

import (
	"proclet.dev/proclet/apis/v1alpha1"
)

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
	// applied: the snapshot was applied (not the zero value).
	applied bool
	// noop: applying the snapshot changed nothing (no app enqueued, no
	// event), so applying it again cannot either: the state Replace
	// reads (desired apps, revisions, file errors) is the one it left.
	noop bool
}

func replacedOf(snap v1alpha1.Snapshot, noop bool) replaced {
	return replaced{apps: snap.Apps, files: snap.Files, revision: snap.SourceRevision, noop: noop, applied: true}
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

// incremental reports whether a snapshot of apps can be applied from the
// last one (apply): there is a last one, and both are sorted by name (as
// the watcher sends them; a snapshot made by hand may not be).
func (p replaced) incremental(apps []v1alpha1.SourcedApp) bool {
	return p.applied && sortedByName(apps) && sortedByName(p.apps)
}

func sortedByName(apps []v1alpha1.SourcedApp) bool {
	for i := 1; i < len(apps); i++ {
		if apps[i-1].App.Metadata.Name >= apps[i].App.Metadata.Name {
			return false
		}
	}
	return true
}

// changed is the admitted apps (indexes in apps, in name order) that
// applying again could change: all but those that are in the last
// snapshot in the same bytes (sameMemory: the watcher hands the same
// decoded values again), whose file's problem is the same (errChanged:
// by path), and that neither claim a port or a socket nor depend on
// another app (admission decides those from the whole snapshot, and may
// have refused them last time). Such an app was admitted last time, as
// it is now, into the desired version, revision and problem it would be
// given again: admitted would return false for it.
func (p replaced) changed(apps []v1alpha1.SourcedApp, admitted []int, errChanged map[string]bool) []int {
	out := admitted[:0:0]
	j := 0
	for _, i := range admitted {
		sa := &apps[i]
		name := sa.App.Metadata.Name
		for j < len(p.apps) && p.apps[j].App.Metadata.Name < name {
			j++
		}
		if j < len(p.apps) && p.apps[j].App.Metadata.Name == name && !contestable(&sa.App.Spec) &&
			!errChanged[sa.Path] && sameMemory(sa, &p.apps[j]) {
			continue
		}
		out = append(out, i)
	}
	return out
}

// contestable reports whether admission may refuse an app of spec s.
func contestable(s *v1alpha1.AppSpec) bool {
	return len(s.Ports) > 0 || len(s.Sockets) > 0 || len(s.DependsOn) > 0
}

// gone is the names of the last snapshot that apps (sorted by name) no
// longer has.
func (p replaced) gone(apps []v1alpha1.SourcedApp) []string {
	var out []string
	j := 0
	for i := range p.apps {
		name := p.apps[i].App.Metadata.Name
		for j < len(apps) && apps[j].App.Metadata.Name < name {
			j++
		}
		if j == len(apps) || apps[j].App.Metadata.Name != name {
			out = append(out, name)
		}
	}
	return out
}
