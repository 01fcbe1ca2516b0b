package reconciler

import (
	"testing"

	"proclet.dev/proclet/apis/v1alpha1"
	"proclet.dev/proclet/runtime/runtimetest"
)

// `proclet rollout restart` changes only the proclet.dev/restartedAt
// annotation: that alone must give the app a new revision (and so roll it),
// while other metadata (labels, other annotations) must not.
func TestReplace_RestartedAtAloneGivesANewRevision(t *testing.T) {
	r := New(Options{Runtime: runtimetest.New()})
	revision := func() (string, int64) {
		t.Helper()
		r.mu.RLock()
		defer r.mu.RUnlock()
		st := r.apps["web"]
		return st.revision, st.generation
	}
	withMeta := func(labels, annotations map[string]string) v1alpha1.Snapshot {
		a := named("web", 2)
		a.Metadata.Labels = labels
		a.Metadata.Annotations = annotations
		return replaceSnapshot(a)
	}

	r.Replace(withMeta(nil, nil))
	base, gen := revision()

	r.Replace(withMeta(map[string]string{"tier": "web"}, map[string]string{"note": "x"}))
	if rev, g := revision(); rev != base || g != gen {
		t.Fatalf("a label and an annotation changed the revision %s (gen %d) to %s (gen %d)", base, gen, rev, g)
	}

	r.Replace(withMeta(nil, map[string]string{v1alpha1.RestartedAtAnnotation: "2026-12-07T17:00:00Z"}))
	first, g1 := revision()
	if first == base || g1 == gen {
		t.Fatalf("restartedAt kept revision %s (gen %d)", first, g1)
	}

	r.Replace(withMeta(nil, map[string]string{v1alpha1.RestartedAtAnnotation: "2026-12-07T17:05:00Z"}))
	if second, _ := revision(); second == first || second == base {
		t.Fatalf("a second restart gave revision %s (first %s, base %s)", second, first, base)
	}

	// Removing the annotation goes back to the spec's own revision.
	r.Replace(withMeta(nil, nil))
	if rev, _ := revision(); rev != base {
		t.Fatalf("without the annotation the revision is %s, want the spec's %s", rev, base)
	}
}
