package reconciler

import (
	"strings"
	"testing"
	"testing/synctest"

	"proclet.dev/proclet/apis/v1alpha1"
	"proclet.dev/proclet/runtime/runtimetest"
)

// withContent is the sourced app of a with the content of one executable.
func withContent(a *v1alpha1.App, digest string, cerr *v1alpha1.FileError) v1alpha1.Snapshot {
	v1alpha1.Default(a)
	a.Spec.RolloutOnChange = &v1alpha1.RolloutOnChange{Executable: true}
	c := &v1alpha1.Content{Digest: "all-" + digest, Sources: []v1alpha1.ContentSource{
		{Field: "spec.rolloutOnChange.executable", Path: "/srv/bin/web", Digest: digest}}}
	return v1alpha1.Snapshot{
		Apps:  []v1alpha1.SourcedApp{{App: *a, Path: "web.yaml", Dir: "/srv", Content: c, ContentError: cerr}},
		Files: []v1alpha1.FileStatus{{Path: "web.yaml", Objects: []string{"web"}}},
	}
}

func TestReplace_ContentIsPartOfTheRevision(t *testing.T) {
	r := New(Options{Runtime: runtimetest.New()})
	state := func() (string, int64, *v1alpha1.FileError) {
		r.mu.RLock()
		defer r.mu.RUnlock()
		st := r.apps["web"]
		return st.revision, st.generation, st.fileErr
	}
	r.Replace(withContent(named("web", 2), "1111111111aaaa", nil))
	rev1, gen1, _ := state()
	if rev1 == v1alpha1.Revision(&named("web", 2).Spec) {
		t.Errorf("the revision ignores the content")
	}

	// The same spec and content in new slices: nothing changes.
	r.Replace(withContent(named("web", 2), "1111111111aaaa", nil))
	if rev, gen, _ := state(); rev != rev1 || gen != gen1 {
		t.Errorf("unchanged content: revision %s gen %d, was %s %d", rev, gen, rev1, gen1)
	}

	// New content, same spec: a new revision and generation, and an
	// event naming the path with both digests, short.
	r.Replace(withContent(named("web", 2), "2222222222bbbb", nil))
	rev2, gen2, _ := state()
	if rev2 == rev1 || gen2 != gen1+1 {
		t.Errorf("new content: revision %s gen %d, was %s %d", rev2, gen2, rev1, gen1)
	}
	want := "spec.rolloutOnChange.executable /srv/bin/web: 11111111 -> 22222222; revision " + rev1 + " -> " + rev2
	if ev := findEvent(r, "ContentChanged"); ev == nil || ev.Message != want || ev.App != "web" {
		t.Errorf("event %+v, want message %q", ev, want)
	}

	// replicas is not part of the revision, with content or without.
	r.Replace(withContent(named("web", 5), "2222222222bbbb", nil))
	if rev, _, _ := state(); rev != rev2 {
		t.Errorf("replicas changed the revision: %s, was %s", rev, rev2)
	}

	// Unreadable content (the watcher keeps the last good version and sets
	// ContentError): the revision stays, ManifestValid says why, once.
	cerr := &v1alpha1.FileError{File: "web.yaml", Field: "spec.rolloutOnChange.executable", Reason: v1alpha1.ReasonContentUnavailable,
		Message: "/srv/bin/web: no such file or directory"}
	r.Replace(withContent(named("web", 5), "2222222222bbbb", cerr))
	rev, _, fileErr := state()
	if rev != rev2 || fileErr == nil || fileErr.Reason != v1alpha1.ReasonContentUnavailable {
		t.Errorf("unreadable content: revision %s (want %s), problem %v", rev, rev2, fileErr)
	}
	ev := findEvent(r, v1alpha1.ReasonContentUnavailable)
	if ev == nil || !strings.Contains(ev.Message, "no such file or directory; keeping revision "+rev2) {
		t.Errorf("event %+v", ev)
	}
}

func findEvent(r *Reconciler, reason string) *Event {
	for _, e := range r.Events("", 100) {
		if e.Reason == reason {
			return &e
		}
	}
	return nil
}

// A content change rolls the app to a new revision, and the runtime gets
// the content (the values of its env files) with each start.
func TestReconciler_ContentChangeRollsTheApp(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t)
		h.r.Replace(withContent(named("web", 2), "1111111111aaaa", nil))
		synctest.Wait()
		first := h.instance("web", "web-0").Revision
		h.r.Replace(withContent(named("web", 2), "2222222222bbbb", nil))
		synctest.Wait()
		for _, name := range []string{"web-0", "web-1"} {
			if i := h.instance("web", name); i.Revision == first || i.Phase != v1alpha1.PhaseRunning {
				t.Errorf("%s: revision %s phase %s, want a new revision running", name, i.Revision, i.Phase)
			}
		}
	})
}
