package client

import (
	"testing"

	"proclet.dev/proclet/apis/v1alpha1"
)

// A restartedAt annotation rolls the app, and the diff says why.
func TestDiffRestartedAtRolls(t *testing.T) {
	web := mkApp("web", 2, "srv")
	r := served(web, "web.yaml")
	restarted := with(web, func(a *v1alpha1.App) {
		a.Metadata.Annotations = map[string]string{v1alpha1.RestartedAtAnnotation: "2026-12-07T16:50:00Z"}
	})
	got := Diff(snapshot(restarted), []v1alpha1.App{r})
	want := "~ web: revision " + r.Status.Revision + " -> " + v1alpha1.AppRevision(&restarted, "") +
		" (rolls 2 instances: annotation proclet.dev/restartedAt, annotations)"
	if len(got) != 1 || got[0].String() != want || !got[0].Differs() {
		t.Fatalf("got %v\nwant %s", got, want)
	}
	// Served with the same annotation: nothing differs.
	same := served(restarted, "web.yaml")
	same.Status.Revision = v1alpha1.AppRevision(&restarted, "")
	if got := Diff(snapshot(restarted), []v1alpha1.App{same}); len(got) != 0 {
		t.Fatalf("got %v, want no change", got)
	}
}

// An app that reads files (envFrom, valueFrom, rolloutOnChange) runs at the
// revision of its spec and their digest: the same files locally differ in
// nothing, other content rolls it.
func TestDiffContentDigestIsPartOfTheRevision(t *testing.T) {
	web := mkApp("web", 2, "srv")
	r := served(web, "web.yaml")
	r.Status.Revision = v1alpha1.AppRevision(&web, "digest-1")
	local := snapshot(web)
	local.Apps[0].Content = &v1alpha1.Content{Digest: "digest-1"}
	if got := Diff(local, []v1alpha1.App{r}); len(got) != 0 {
		t.Fatalf("same files: got %v, want no change", got)
	}
	local.Apps[0].Content = &v1alpha1.Content{Digest: "digest-2"}
	if got := Diff(local, []v1alpha1.App{r}); len(got) != 1 || !got[0].Differs() {
		t.Fatalf("other files: got %v, want the app to roll", got)
	}
}
