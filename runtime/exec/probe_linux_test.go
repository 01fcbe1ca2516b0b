package exec

import (
	"context"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"proclet.dev/proclet/apis/v1alpha1"

	"proclet.dev/proclet/runtime"
	"proclet.dev/proclet/runtime/internal/testutil"
)

// workloadOnPort is a StartSpec of the workload serving HTTP on a fixed
// free port named "http", with args.
func (h *harness) workloadOnPort(args ...string) runtime.StartSpec {
	port := testutil.FreePort(h.t)
	s := h.spec(append([]string{workload}, args...)...)
	s.Spec.Ports = []v1alpha1.PortSpec{{Name: "http", Port: port}}
	s.Ports = map[string]int32{"http": port}
	return s
}

func httpGetProbe(path string, period, failures int32) *v1alpha1.Probe {
	return &v1alpha1.Probe{
		ProbeHandler:  v1alpha1.ProbeHandler{HTTPGet: &v1alpha1.HTTPGetAction{Path: path, Port: v1alpha1.FromString("http")}},
		PeriodSeconds: period, FailureThreshold: failures,
	}
}

// waitState reads Events until one for uid finds the instance in a state
// that satisfies cond, and returns that state.
func (h *harness) waitState(uid string, within time.Duration, what string, cond func(runtime.State) bool) runtime.State {
	h.t.Helper()
	timer := time.NewTimer(within)
	defer timer.Stop()
	for {
		select {
		case ev := <-h.e.Events():
			if ev.UID != uid {
				continue
			}
			if st, ok := h.find(uid); ok && cond(st) {
				return st
			}
		case <-timer.C:
			st, _ := h.find(uid)
			h.t.Fatalf("no event within %v with %s; state %+v", within, what, st.Probe)
			return runtime.State{}
		}
	}
}

func TestExec_ProbeStatusAtStart(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	st := h.start(h.spec("/bin/sleep", "100"))
	if want := (runtime.ProbeStatus{Started: true, Ready: true, ReadySince: st.StartedAt}); st.Probe != want {
		t.Errorf("without probes: %+v, want %+v", st.Probe, want)
	}
	s := h.spec("/bin/sleep", "100")
	s.Spec.ReadinessProbe = &v1alpha1.Probe{ProbeHandler: v1alpha1.ProbeHandler{Exec: &v1alpha1.ExecAction{Command: []string{"false"}}}}
	if st := h.start(s); st.Probe != (runtime.ProbeStatus{Started: true}) {
		t.Errorf("with a readiness probe: %+v, want started, not ready", st.Probe)
	}
}

// An instance started through Runtime with a readiness httpGet probe on the
// workload becomes Ready, with an event.
func TestExec_ReadinessProbeOnTheWorkload(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	var mu sync.Mutex
	var runs []string
	h.e.onProbe = func(app, probe string, ok bool, d time.Duration) {
		mu.Lock()
		defer mu.Unlock()
		runs = append(runs, app+"/"+probe+"/"+strconv.FormatBool(ok))
	}
	s := h.workloadOnPort("--ready-after", "300ms")
	s.Spec.ReadinessProbe = httpGetProbe("/healthz", 1, 3)
	st := h.start(s)
	if st.Probe.Ready || !st.Probe.Started {
		t.Fatalf("at start: %+v, want started and not ready", st.Probe)
	}
	got := h.waitState(s.UID, 10*time.Second, "Ready", func(st runtime.State) bool { return st.Probe.Ready })
	if got.Probe.ReadySince.Before(st.StartedAt.Add(300*time.Millisecond)) || got.Probe.Failed != "" {
		t.Errorf("probe status %+v: ready before --ready-after, or failed", got.Probe)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(runs) < 2 || runs[0] != "web/readiness/false" || runs[len(runs)-1] != "web/readiness/true" {
		t.Errorf("OnProbe saw %v, want a failure at start, then a success", runs)
	}
}

// A failing liveness probe marks the instance Failed and stops probing;
// the runtime restarts nothing, the reconciler stops it.
func TestExec_LivenessFailureIsReportedNotActedOn(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	s := h.workloadOnPort("--healthz-fail-after", "500ms")
	s.Spec.LivenessProbe = httpGetProbe("/healthz", 1, 2)
	st := h.start(s)
	got := h.waitState(s.UID, 10*time.Second, "Failed", func(st runtime.State) bool { return st.Probe.Failed != "" })
	if got.Probe.Failed != runtime.ReasonLivenessProbeFailed || !strings.Contains(got.Probe.Message, "liveness probe: HTTP 500") || got.Probe.Ready {
		t.Errorf("probe status %+v", got.Probe)
	}
	if !got.Running() || got.Stopping || !alive(st.PID) {
		t.Fatalf("the runtime acted on the liveness failure: %+v", got)
	}
	if err := h.e.Stop(s.UID, runtime.StopSpec{Grace: 5 * time.Second, Reason: runtime.ReasonLivenessProbeFailed}); err != nil {
		t.Fatal(err)
	}
	if x := h.waitExit(s.UID, 10*time.Second); x.Exit.Reason != runtime.ReasonLivenessProbeFailed {
		t.Errorf("exit %+v", x.Exit)
	}
}

func TestExec_ExecProbeRunsInTheInstanceEnvironment(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	s := h.spec("/bin/sleep", "100")
	s.Spec.Env = []v1alpha1.EnvVar{{Name: "PROBE_WANT", Value: "$(PROCLET_INSTANCE)"}}
	s.Spec.StartupProbe = &v1alpha1.Probe{ProbeHandler: v1alpha1.ProbeHandler{Exec: &v1alpha1.ExecAction{
		Command: []string{"sh", "-c", `test "$PROBE_WANT" = "$0" && test "$(pwd)" = "$1"`, "$(PROCLET_INSTANCE)", h.dir},
	}}}
	h.start(s)
	got := h.waitState(s.UID, 10*time.Second, "Started", func(st runtime.State) bool { return st.Probe.Started })
	if !got.Probe.Ready || got.Probe.Message != "" {
		t.Errorf("probe status %+v, want started and ready (no readiness probe), no failure", got.Probe)
	}
}

// Probing ends with the instance, whether it exits by itself or is
// stopped: StopAll, which waits for every goroutine of the Runtime, returns.
func TestExec_ProbingEndsWithTheInstance(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	exits := h.workloadOnPort("--exit-after", "300ms")
	exits.Spec.ReadinessProbe = httpGetProbe("/healthz", 1, 3)
	h.start(exits)
	stopped := h.spec("/bin/sleep", "100")
	stopped.Spec.LivenessProbe = &v1alpha1.Probe{PeriodSeconds: 1, TimeoutSeconds: 30,
		ProbeHandler: v1alpha1.ProbeHandler{Exec: &v1alpha1.ExecAction{Command: []string{"sleep", "100"}}}}
	h.start(stopped)
	if x := h.waitExit(exits.UID, 10*time.Second); x.Probe.Ready {
		t.Errorf("exited instance still ready: %+v", x.Probe)
	}
	done := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		done <- h.e.StopAll(ctx, "Test") // stops the other one, with its probe running
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("StopAll still waiting for the probe workers")
	}
}

func TestExec_DetachEndsProbing(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	s := h.spec("/bin/sleep", "100")
	s.Spec.LivenessProbe = &v1alpha1.Probe{PeriodSeconds: 1, TimeoutSeconds: 30,
		ProbeHandler: v1alpha1.ProbeHandler{Exec: &v1alpha1.ExecAction{Command: []string{"sleep", "100"}}}}
	st := h.start(s)
	h.mu.Lock()
	h.detached = true
	h.mu.Unlock()
	done := make(chan struct{})
	go func() {
		h.e.Detach()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Detach still waiting for the probe worker")
	}
	if !alive(st.PID) {
		t.Error("Detach killed the instance")
	}
}
