package reconciler

import (
	"testing"

	"proclet.dev/proclet/apis/v1alpha1"
)

func TestSameSourced(t *testing.T) {
	app := named("web", 2)
	v1alpha1.Default(app)
	a := v1alpha1.SourcedApp{App: *app, Path: "web.yaml", Dir: "/srv/m"}
	copyOf := a
	copyOf.Path, copyOf.Dir = string([]byte("web.yaml")), string([]byte("/srv/m")) // equal strings, other memory
	if !sameSourced(&a, &copyOf) {
		t.Error("a copy (the watcher's unchanged app) is not the same")
	}
	changed := a
	changed.App.Spec.Replicas = new(int32(3))
	if sameSourced(&a, &changed) {
		t.Error("an app with other replicas is the same")
	}
	moved := a
	moved.Path = "other.yaml"
	if sameSourced(&a, &moved) {
		t.Error("an app from another file is the same")
	}
	redecoded := a
	redecoded.App.Spec.Command = append([]string(nil), a.App.Spec.Command...) // equal, other memory
	if sameSourced(&a, &redecoded) {
		t.Error("sameSourced says true for equal contents in other memory: it cannot know that")
	}
}
