package server

import "proclet.dev/proclet/apis/v1alpha1"

// StatusReader is what the server needs from the reconciler. Every method
// returns copies the caller may keep.
type StatusReader interface {
	// Apps returns every app with its status, sorted by name.
	Apps() []v1alpha1.App
	// App returns one app; false when there is no such app.
	App(name string) (v1alpha1.App, bool)
	// Instances returns the instances of app, or of every app when app is
	// empty; false for an unknown app.
	Instances(app string) ([]v1alpha1.Instance, bool)
	// Ready reports whether the first full read of the manifests has been
	// reconciled.
	Ready() bool
}
