package reconciler

import (
	"errors"
	"fmt"
	"slices"
	"testing"

	"proclet.dev/proclet/apis/v1alpha1"
	"proclet.dev/proclet/runtime/runtimetest"
)

func replaceSnapshot(apps ...*v1alpha1.App) v1alpha1.Snapshot {
	var snap v1alpha1.Snapshot
	for _, a := range apps {
		v1alpha1.Default(a)
		snap.Apps = append(snap.Apps, v1alpha1.SourcedApp{App: *a, Path: a.Metadata.Name + ".yaml", Dir: "/srv"})
		snap.Files = append(snap.Files, v1alpha1.FileStatus{Path: a.Metadata.Name + ".yaml", Objects: []string{a.Metadata.Name}})
	}
	return snap
}

// The resync of a quiet directory re-sends the same slices: Replace skips
// them only after a Replace that changed nothing, and never while the
// source is reported unavailable.
func TestReplace_SkipsTheSameSnapshotOnlyWhenItChangedNothing(t *testing.T) {
	r := New(Options{Runtime: runtimetest.New()})
	snap := replaceSnapshot(named("web", 1), named("db", 1))
	r.Replace(snap)
	if r.desired.replaced.same(snap) {
		t.Fatalf("the first snapshot (which enqueues every app) counts as a no-op")
	}
	r.Replace(snap)
	if !r.desired.replaced.same(snap) {
		t.Fatalf("the same snapshot again is not recognised")
	}
	copied := snap
	copied.Apps = slices.Clone(snap.Apps)
	if r.desired.replaced.same(copied) {
		t.Fatalf("equal apps in another slice count as the same slices")
	}
	moved := snap
	moved.SourceRevision = "B"
	if r.desired.replaced.same(moved) {
		t.Fatalf("another source revision counts as the same snapshot")
	}

	// After an unavailability, the same snapshot clears it.
	r.Unavailable(errors.New("gone"))
	r.Replace(snap)
	if got := r.SourceError(); got != "" {
		t.Fatalf("source error %q after a snapshot", got)
	}

	// A change is applied, and the snapshot after it is diffed again.
	changed := replaceSnapshot(named("web", 1, "/bin/true"), named("db", 1))
	r.Replace(changed)
	r.mu.RLock()
	cmd := r.apps["web"].desired.App.Spec.Command
	gen := r.apps["web"].generation
	r.mu.RUnlock()
	if !slices.Equal(cmd, []string{"/bin/true"}) || gen != 2 {
		t.Fatalf("the change was not applied: command %v, generation %d", cmd, gen)
	}
	if r.desired.replaced.same(changed) {
		t.Fatalf("a snapshot that changed an app counts as a no-op")
	}
	r.Replace(changed)
	if !r.desired.replaced.same(changed) {
		t.Fatalf("the changed snapshot again is not recognised")
	}
}

// An equal snapshot in new slices keeps every app's desired spec,
// revision and generation, and enqueues nothing new.
func TestReplace_AnEqualSnapshotChangesNothing(t *testing.T) {
	r := New(Options{Runtime: runtimetest.New()})
	snap := replaceSnapshot(named("web", 2), named("db", 1))
	r.Replace(snap)
	r.mu.RLock()
	before := map[string]*appState{}
	for name, st := range r.apps {
		c := *st
		before[name] = &c
	}
	r.mu.RUnlock()
	r.Replace(replaceSnapshot(named("web", 2), named("db", 1)))
	r.mu.RLock()
	defer r.mu.RUnlock()
	for name, st := range r.apps {
		b := before[name]
		if st.desired != b.desired || st.revision != b.revision || st.generation != b.generation {
			t.Errorf("%s: desired %p rev %s gen %d, was %p %s %d", name, st.desired, st.revision, st.generation,
				b.desired, b.revision, b.generation)
		}
	}
	if !r.desired.replaced.noop {
		t.Errorf("an equal snapshot was not a no-op")
	}
}

// A snapshot of many new apps has their revisions hashed on several cores
// beforehand (newRevisions); each is the one AppRevision gives, with its
// content digest and restartedAt, and an app known already keeps its own.
func TestReplace_ManyNewAppsGetTheirOwnRevisions(t *testing.T) {
	r := New(Options{Runtime: runtimetest.New()})
	r.Replace(replaceSnapshot(named("app-0", 1, "/bin/old")))
	var apps []*v1alpha1.App
	for i := range 3 * parallelRevisions {
		apps = append(apps, named(fmt.Sprintf("app-%d", i), 1, "/bin/x", fmt.Sprint(i)))
	}
	snap := replaceSnapshot(apps...)
	snap.Apps[5].Content = &v1alpha1.Content{Digest: "d5"}
	snap.Apps[7].App.Metadata.Annotations = map[string]string{v1alpha1.RestartedAtAnnotation: "now"}
	r.Replace(snap)
	for i, sa := range snap.Apps {
		want := v1alpha1.AppRevision(&sa.App, sa.ContentDigest())
		if got := r.apps[sa.App.Metadata.Name].revision; got != want {
			t.Fatalf("app %d: revision %s, want %s", i, got, want)
		}
	}
}
