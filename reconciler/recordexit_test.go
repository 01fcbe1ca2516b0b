package reconciler

import (
	"sync"
	"testing"
	"testing/synctest"

	"proclet.dev/proclet/apis/v1alpha1"
	"proclet.dev/proclet/runtime"
)

// TestReconciler_RecordExitByRestartPolicy: an instance whose exit code
// decides its restart (OnFailure, Never) is started with RecordExit, so
// the code survives a daemon restart; Always keeps the plain start.
func TestReconciler_RecordExitByRestartPolicy(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t)
		var mu sync.Mutex
		got := map[string]bool{}
		h.rt.StartErr = func(s runtime.StartSpec) error {
			mu.Lock()
			got[s.App] = s.RecordExit
			mu.Unlock()
			return nil
		}
		want := map[string]bool{}
		for name, p := range map[string]v1alpha1.RestartPolicy{"always": v1alpha1.RestartAlways, "onfailure": v1alpha1.RestartOnFailure, "never": v1alpha1.RestartNever} {
			a := named(name, 1)
			a.Spec.RestartPolicy = p
			h.apply(a)
			want[name] = p != v1alpha1.RestartAlways
		}
		synctest.Wait()
		mu.Lock()
		defer mu.Unlock()
		for name, w := range want {
			if r, ok := got[name]; !ok || r != w {
				t.Errorf("%s: RecordExit %v (started %v), want %v", name, r, ok, w)
			}
		}
	})
}
