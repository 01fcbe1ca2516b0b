package reconciler

import (
	"context"
	"path/filepath"
	"testing"
	"testing/synctest"

	"proclet.dev/proclet/apis/v1alpha1"
	"proclet.dev/proclet/runtime/runtimetest"
)

// The file each app came from is saved with the state and handed back by
// Owners after a restart (for the watcher's duplicate-name rule), and a
// change of file alone is saved too.
func TestReconciler_OwnersSurviveARestart(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		stateFile := filepath.Join(t.TempDir(), "reconciler.json")
		rt := runtimetest.New()
		run := func() (*Reconciler, func()) {
			r := New(Options{Runtime: rt, StateFile: stateFile})
			ctx, cancel := context.WithCancel(t.Context())
			done := make(chan struct{})
			go func() { _ = r.Run(ctx); close(done) }()
			return r, func() { cancel(); <-done }
		}
		snap := func(webPath string) v1alpha1.Snapshot {
			a, b := named("web", 1), named("db", 1)
			v1alpha1.Default(a)
			v1alpha1.Default(b)
			return v1alpha1.Snapshot{Apps: []v1alpha1.SourcedApp{{App: *b, Path: "db.yaml"}, {App: *a, Path: webPath}}}
		}
		r, stop := run()
		r.Replace(snap("b.yaml"))
		synctest.Wait()
		r.Replace(snap("c.yaml")) // the same spec from another file
		synctest.Wait()
		stop()

		r, stop = run()
		defer stop()
		got := r.Owners()
		if len(got) != 2 || got["web"] != "c.yaml" || got["db"] != "db.yaml" {
			t.Fatalf("owners after a restart: %v, want web: c.yaml, db: db.yaml", got)
		}
	})
}
