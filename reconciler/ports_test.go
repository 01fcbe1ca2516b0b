package reconciler

import (
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"proclet.dev/proclet/apis/v1alpha1"
	"proclet.dev/proclet/runtime"
)

// Ports: an instance whose port another process holds waits (Pending), and a newcomer whose
// ports conflict with a running app's is refused, the running one keeps them.

func TestReconciler_PortInUseKeepsTheInstancePending(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t)
		var taken atomic.Bool
		taken.Store(true)
		h.rt.StartErr = func(s runtime.StartSpec) error {
			if !taken.Load() {
				return nil
			}
			return &runtime.PortInUseError{Port: 8080, Name: "http", Message: "port 8080 (http) is in use by another process"}
		}
		a := named("web", 1)
		a.Spec.Ports = []v1alpha1.PortSpec{{Name: "http", Port: 8080}}
		h.apply(a)
		inst := h.instance("web", "web-0")
		if inst.Phase != v1alpha1.PhasePending || inst.Reason != "PortInUse" || !strings.Contains(inst.Message, "8080") {
			t.Fatalf("web-0 %+v", inst)
		}
		taken.Store(false) // the foreign process goes away
		time.Sleep(5 * time.Second)
		synctest.Wait()
		if got := h.rt.Running("web"); len(got) != 1 {
			t.Fatalf("not started once the port was free: %v", got)
		}
	})
}

func TestReconciler_PortConflictRefusesTheNewcomer(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t)
		a := named("api", 1)
		a.Spec.Ports = []v1alpha1.PortSpec{{Name: "http", Port: 8080}}
		h.apply(a)
		b := named("admin", 1)
		b.Spec.Ports = []v1alpha1.PortSpec{{Name: "http", Port: 8080}}
		h.apply(a, b)
		if _, ok := h.r.App("admin"); ok {
			t.Fatal("the newcomer was admitted")
		}
		if got := h.rt.Running("api"); len(got) != 1 {
			t.Fatalf("api disturbed: %v", got)
		}
		var fe *v1alpha1.FileError
		for _, f := range h.r.Manifests() {
			if f.Path == "admin.yaml" {
				fe = f.Error
			}
		}
		if fe == nil || fe.Reason != v1alpha1.ReasonPortConflict || !strings.Contains(fe.Message, `"api"`) {
			t.Fatalf("admin.yaml error %+v", fe)
		}
		var reasons []string
		for _, e := range h.r.Events("", 0) {
			reasons = append(reasons, e.Reason)
		}
		if !slices.Contains(reasons, v1alpha1.ReasonPortConflict) {
			t.Fatalf("no PortConflict event in %v", reasons)
		}
	})
}
