package v1alpha1

import "testing"

// The restartedAt annotation is part of the revision; other metadata is
// not, and an app without it keeps the revision of its spec.
func TestAppRevisionIncludesRestartedAtOnly(t *testing.T) {
	app := &App{Metadata: ObjectMeta{Name: "web"}, Spec: AppSpec{Command: []string{"./web"}}}
	base := AppRevision(app, "")
	if want := Revision(&app.Spec); base != want || base != goldenRevisions["minimal"] {
		t.Fatalf("no annotation: AppRevision = %s, want Revision of the spec %s (golden %s)", base, want, goldenRevisions["minimal"])
	}
	app.Metadata.Labels = map[string]string{"team": "a"}
	app.Metadata.Annotations = map[string]string{"note": "x"}
	if got := AppRevision(app, ""); got != base {
		t.Fatalf("labels and other annotations changed the revision: %s -> %s", base, got)
	}
	app.Metadata.Annotations[RestartedAtAnnotation] = "2026-12-07T16:00:00Z"
	r1 := AppRevision(app, "")
	if r1 == base || len(r1) != 10 {
		t.Fatalf("restartedAt set: revision %q, want a new 10-character one (was %s)", r1, base)
	}
	app.Metadata.Annotations[RestartedAtAnnotation] = "2026-12-07T16:00:01Z"
	r2 := AppRevision(app, "")
	if r2 == r1 || r2 == base {
		t.Fatalf("a new restartedAt kept revision %s", r2)
	}
	if again := AppRevision(app, ""); again != r2 {
		t.Fatalf("not deterministic: %s then %s", r2, again)
	}
	app.Spec.Replicas = ptr(int32(7))
	if got := AppRevision(app, ""); got != r2 {
		t.Fatalf("replicas changed the revision with restartedAt set: %s -> %s", r2, got)
	}
}
