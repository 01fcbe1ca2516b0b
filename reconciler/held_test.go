package reconciler

import (
	"path/filepath"
	"slices"
	"testing"
	"testing/synctest"

	"proclet.dev/proclet/apis/v1alpha1"
	"proclet.dev/proclet/runtime/runtimetest"
)

// A daemon restarted while the manifest of a running app is broken does
// not know the app's last good version: it must leave the app's instances
// running (a broken manifest never takes down a running app), show them
// with ManifestValid=False, adopt them without a restart once the file is
// fixed, and stop them only once the file is removed.
func TestReconciler_ARestartedDaemonHoldsTheAppsOfABrokenFile(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		stateFile := filepath.Join(t.TempDir(), "reconciler.json")
		rt := runtimetest.New()
		good := func() v1alpha1.Snapshot {
			web, db := named("web", 2), named("db", 1)
			v1alpha1.Default(web)
			v1alpha1.Default(db)
			return v1alpha1.Snapshot{
				Apps:  []v1alpha1.SourcedApp{{App: *db, Path: "db.yaml"}, {App: *web, Path: "web.yaml"}},
				Files: []v1alpha1.FileStatus{{Path: "db.yaml", Objects: []string{"db"}}, {Path: "web.yaml", Objects: []string{"web"}}},
			}
		}
		broken := func() v1alpha1.Snapshot {
			s := good()
			s.Apps = s.Apps[:1]
			s.Files[1] = v1alpha1.FileStatus{Path: "web.yaml", Error: &v1alpha1.FileError{
				File: "web.yaml", Line: 3, Reason: v1alpha1.ReasonInvalid, Message: "yaml: did not find expected key"}}
			return s
		}
		uids := func(app string) []string {
			var out []string
			for _, s := range rt.Instances(app) {
				out = append(out, s.UID)
			}
			slices.Sort(out)
			return out
		}

		r, stop := runDaemon(t, rt, stateFile)
		r.Replace(good())
		synctest.Wait()
		rt.Calls() // drain: the calls below are the restarted daemon's
		before := uids("web")
		if len(before) != 2 {
			t.Fatalf("web runs %v, want 2 instances", before)
		}
		stop()

		// The daemon restarts while web.yaml is broken.
		r, stop = runDaemon(t, rt, stateFile)
		r.Replace(broken())
		synctest.Wait()
		if c := rt.Calls(); len(c) != 0 {
			t.Fatalf("a restarted daemon acted on a broken file's app: %+v", c)
		}
		if got := uids("web"); !slices.Equal(got, before) {
			t.Fatalf("web's instances %v, want them kept: %v", got, before)
		}
		app, ok := r.App("web")
		if !ok {
			t.Fatalf("the held app is not shown")
		}
		c := condition(app, v1alpha1.ConditionManifestValid)
		if c.Status != v1alpha1.ConditionFalse || c.Reason != v1alpha1.ReasonInvalid {
			t.Fatalf("held app's ManifestValid: %+v", c)
		}
		if inst, _ := r.Instances("web"); len(inst) != 2 {
			t.Fatalf("held app shows %d instances, want 2", len(inst))
		}

		// Fixed with the same spec: adopted as they are.
		r.Replace(good())
		synctest.Wait()
		if c := rt.Calls(); len(c) != 0 {
			t.Fatalf("the fixed file restarted what ran: %+v", c)
		}
		if got := uids("web"); !slices.Equal(got, before) {
			t.Fatalf("after the fix web runs %v, want %v", got, before)
		}
		stop()

		// Broken again across a restart, then removed: now they stop.
		r, stop = runDaemon(t, rt, stateFile)
		defer stop()
		r.Replace(broken())
		synctest.Wait()
		if got := uids("web"); !slices.Equal(got, before) {
			t.Fatalf("web's instances %v, want them kept: %v", got, before)
		}
		gone := good()
		gone.Apps, gone.Files = gone.Apps[:1], gone.Files[:1]
		r.Replace(gone)
		synctest.Wait()
		if got := rt.Running("web"); len(got) != 0 {
			t.Fatalf("web's file removed, still running: %v", got)
		}
	})
}
