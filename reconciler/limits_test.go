package reconciler

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"proclet.dev/proclet/apis/v1alpha1"
	"proclet.dev/proclet/runtime"
	"proclet.dev/proclet/runtime/runtimetest"
)

func memoryLimit(q string) func(*v1alpha1.AppSpec) {
	return func(s *v1alpha1.AppSpec) { s.Resources.Limits.Memory = v1alpha1.Quantity(q) }
}

// overLimit is s after n samples in a row above its limit at rss bytes.
func overLimit(s runtime.State, rss uint64, n int) runtime.State {
	s.Usage = runtime.Usage{SampledAt: s.StartedAt.Add(time.Minute), MemoryBytes: rss, OverMemoryLimit: n}
	return s
}

func TestPlan_MemoryLimit(t *testing.T) {
	up := t0.Add(-time.Hour)
	app := testApp(2, memoryLimit("256Mi"))
	tests := []struct {
		name     string
		observed []runtime.State
		want     []string
		message  string
	}{
		{
			name:     "one sample over the limit is a spike: no restart",
			observed: []runtime.State{overLimit(run(0, "A", up), 300<<20, 1), run(1, "A", up)},
			want:     nil,
		},
		{
			name:     "two samples in a row restart the instance",
			observed: []runtime.State{overLimit(run(0, "A", up), 300<<20, 2), run(1, "A", up)},
			want:     []string{"stop uid-A-0"},
			message:  "memory 300Mi over the limit 256Mi",
		},
		{
			name:     "many samples: the same single stop",
			observed: []runtime.State{run(0, "A", up), overLimit(run(1, "A", up), 1536<<20, 7)},
			want:     []string{"stop uid-A-1"},
			message:  "memory 1.5Gi over the limit 256Mi",
		},
		{
			name:     "an instance already stopping is not stopped again",
			observed: []runtime.State{stopping(overLimit(run(0, "A", up), 300<<20, 3)), run(1, "A", up)},
			want:     nil,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := plan(input{app: app, revision: "A", replicas: 2, synced: true, observed: tt.observed,
				slots: slotsFor(tt.observed...), now: t0})
			if got := summary(out); !slices.Equal(got, tt.want) {
				t.Fatalf("actions = %v, want %v", got, tt.want)
			}
			for _, a := range out.actions {
				if a.kind == actStop && (a.reason != ReasonMemoryLimitExceeded || a.message != tt.message) {
					t.Errorf("stop reason %q message %q, want %s %q", a.reason, a.message, ReasonMemoryLimitExceeded, tt.message)
				}
			}
		})
	}
}

// The exit of an instance stopped for its memory is a crash, not a
// planned stop: restarted through the backoff, first at once.
func TestPlan_MemoryLimitExitRestarts(t *testing.T) {
	app := testApp(1, memoryLimit("256Mi"))
	started := t0.Add(-time.Minute)
	s := run(0, "A", started)
	out := plan(input{app: app, revision: "A", replicas: 1, synced: true, now: t0,
		observed: []runtime.State{exited(s, 143, ReasonMemoryLimitExceeded, t0)}, slots: slotsFor(s)})
	if got, want := summary(out), []string{"release uid-A-0", "start 0"}; !slices.Equal(got, want) {
		t.Fatalf("actions = %v, want %v", got, want)
	}
	sl := out.slots[0]
	if sl.LastExit == nil || sl.LastExit.Reason != ReasonMemoryLimitExceeded || sl.Restarts != 1 || sl.Failures != 1 {
		t.Errorf("slot = %+v, want a restart counted after a MemoryLimitExceeded exit", sl)
	}
}

func TestAppsOverMemoryLimit(t *testing.T) {
	up := t0.Add(-time.Hour)
	db := run(0, "A", up)
	db.App = "db"
	states := []runtime.State{
		overLimit(run(0, "A", up), 1<<30, 2), overLimit(run(1, "A", up), 1<<30, 5),
		overLimit(db, 1<<30, 1), stopping(overLimit(run(2, "A", up), 1<<30, 3)),
	}
	if got := appsOverMemoryLimit(states); !slices.Equal(got, []string{"web"}) {
		t.Errorf("apps = %v, want [web] once (db has one sample, the stopping one is on its way)", got)
	}
}

func TestFormatBytes(t *testing.T) {
	for n, want := range map[uint64]string{
		512: "512", 2048: "2Ki", 300 << 20: "300Mi", 256<<20 + 1<<19: "257Mi", 1 << 30: "1Gi", 1536 << 20: "1.5Gi",
	} {
		if got := formatBytes(n); got != want {
			t.Errorf("formatBytes(%d) = %q, want %q", n, got, want)
		}
	}
}

func TestLimitsCondition(t *testing.T) {
	spec := func(mem, cpu string) *v1alpha1.AppSpec {
		return &v1alpha1.AppSpec{Resources: v1alpha1.Resources{Limits: v1alpha1.ResourceLimits{
			Memory: v1alpha1.Quantity(mem), CPU: v1alpha1.Quantity(cpu)}}}
	}
	polling := runtime.LimitSupport{Sampling: true}
	cgroups := runtime.LimitSupport{CgroupRoot: "/sys/fs/cgroup/proclet", Memory: true, CPU: true, Sampling: true}
	noCPU := runtime.LimitSupport{CgroupRoot: "/sys/fs/cgroup/proclet", Memory: true, Sampling: true,
		Problem: "/sys/fs/cgroup/proclet/cgroup.controllers has no cpu controller (delegate it to proclet)"}
	tests := []struct {
		name         string
		spec         *v1alpha1.AppSpec
		ls           runtime.LimitSupport
		want         bool // the condition is there
		status       v1alpha1.ConditionStatus
		reason, text string
	}{
		{name: "no limits, no condition", spec: spec("", ""), ls: polling},
		{name: "memory polled", spec: spec("256Mi", ""), ls: polling, want: true,
			status: v1alpha1.ConditionTrue, reason: "LimitsEnforced", text: "memory 256Mi by sampling the RSS"},
		{name: "cpu without a cgroup root", spec: spec("256Mi", "500m"), ls: polling, want: true,
			status: v1alpha1.ConditionFalse, reason: "CPULimitNotEnforced", text: "cpu limit 500m is not enforced: no --cgroup-root"},
		{name: "both by cgroup", spec: spec("256Mi", "500m"), ls: cgroups, want: true,
			status: v1alpha1.ConditionTrue, reason: "LimitsEnforced", text: "memory 256Mi by cgroup memory.max; cpu 500m by cgroup cpu.max"},
		{name: "cgroup root without the cpu controller", spec: spec("", "2"), ls: noCPU, want: true,
			status: v1alpha1.ConditionFalse, reason: "LimitUnsupported", text: "cpu limit 2 is not enforced: /sys/fs/cgroup/proclet/cgroup.controllers has no cpu controller"},
		{name: "memory with sampling off and no cgroup", spec: spec("1Gi", ""), ls: runtime.LimitSupport{}, want: true,
			status: v1alpha1.ConditionFalse, reason: "MemoryLimitNotEnforced", text: "memory limit 1Gi is not enforced"},
	}
	for _, tt := range tests {
		c, ok := limitsCondition(tt.spec, tt.ls)
		if ok != tt.want {
			t.Errorf("%s: condition present = %v, want %v", tt.name, ok, tt.want)
			continue
		}
		if !ok {
			continue
		}
		if c.Type != ConditionResourceLimits || c.Status != tt.status || c.Reason != tt.reason || !strings.Contains(c.Message, tt.text) {
			t.Errorf("%s: condition = %+v, want %s %s containing %q", tt.name, c, tt.status, tt.reason, tt.text)
		}
	}
}

// usageRuntime is the fake runtime with samples a test sets, as the real
// runtime's sampler would.
type usageRuntime struct {
	*runtimetest.Fake
	mu    sync.Mutex
	usage map[int]runtime.Usage // by pid (a restart is a new process); guarded by mu
}

func (u *usageRuntime) Instances(app string) []runtime.State {
	return u.withUsage(u.Fake.Instances(app))
}

func (u *usageRuntime) AllInstances() []runtime.State {
	return u.withUsage(u.Fake.AllInstances())
}

func (u *usageRuntime) withUsage(out []runtime.State) []runtime.State {
	u.mu.Lock()
	defer u.mu.Unlock()
	for i := range out {
		if us, ok := u.usage[out[i].PID]; ok && out[i].Running() {
			out[i].Usage = us
		}
	}
	return out
}

func (u *usageRuntime) setUsage(pid int, us runtime.Usage) {
	u.mu.Lock()
	u.usage[pid] = us
	u.mu.Unlock()
}

// Through the loop: a sample pass that crosses the threshold gives the app
// a pass (RefreshUsage), which stops the instance with MemoryLimitExceeded;
// the exit carries that reason into lastExit and the instance restarts.
func TestReconciler_MemoryLimitRestart(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rt := &usageRuntime{Fake: runtimetest.New(), usage: map[int]runtime.Usage{}}
		r := New(Options{Runtime: rt, Workers: 2, Limits: runtime.LimitSupport{Sampling: true}})
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan struct{})
		go func() { _ = r.Run(ctx); close(done) }()
		defer func() { cancel(); <-done }()
		h := &harness{t: t, rt: rt.Fake, r: r}
		h.apply(testApp(1, memoryLimit("256Mi"), func(s *v1alpha1.AppSpec) { s.Resources.Limits.CPU = "500m" }))

		view, _ := r.App("web")
		var c v1alpha1.Condition
		for _, x := range view.Status.Conditions {
			if x.Type == ConditionResourceLimits {
				c = x
			}
		}
		if c.Status != v1alpha1.ConditionFalse || c.Reason != "CPULimitNotEnforced" ||
			!strings.Contains(c.Message, "cpu limit 500m is not enforced: no --cgroup-root") {
			t.Errorf("ResourceLimits = %+v, want False CPULimitNotEnforced", c)
		}

		first := h.instance("web", "web-0")
		uid, pid := first.UID, first.PID
		rt.setUsage(pid, runtime.Usage{SampledAt: time.Now(), MemoryBytes: 300 << 20, OverMemoryLimit: 1})
		r.RefreshUsage()
		synctest.Wait()
		if calls := rt.Calls(); slices.ContainsFunc(calls, func(c runtimetest.Call) bool { return c.Op == "Stop" }) {
			t.Fatalf("stopped after one sample over the limit: %+v", calls)
		}
		rt.setUsage(pid, runtime.Usage{SampledAt: time.Now(), MemoryBytes: 300 << 20, OverMemoryLimit: 2})
		r.RefreshUsage()
		synctest.Wait()
		var stops []runtimetest.Call
		for _, c := range rt.Calls() {
			if c.Op == "Stop" {
				stops = append(stops, c)
			}
		}
		if len(stops) != 1 || stops[0].Instance != "web-0" || stops[0].Reason != ReasonMemoryLimitExceeded {
			t.Fatalf("stops = %+v, want web-0 with MemoryLimitExceeded", stops)
		}
		inst := h.instance("web", "web-0")
		if inst.LastExit == nil || inst.LastExit.Reason != ReasonMemoryLimitExceeded || inst.Restarts != 1 || inst.UID != uid || inst.PID == pid {
			t.Errorf("after the restart: %+v lastExit %+v, want a restart after MemoryLimitExceeded", inst, inst.LastExit)
		}
		if got := rt.Running("web"); !slices.Equal(got, []string{"web-0"}) {
			t.Errorf("running %v, want web-0 restarted", got)
		}
		found := false
		for _, e := range r.Events("web", 0) {
			if e.Reason == "Stopping" && strings.Contains(e.Message, "memory 300Mi over the limit 256Mi") {
				found = true
			}
		}
		if !found {
			t.Errorf("no Stopping event saying why: %+v", r.Events("web", 0))
		}
	})
}

// A log that cannot be written shows in a running instance's message,
// after a probe failure.
func TestRunningMessage(t *testing.T) {
	s := run(0, "A", t0)
	s.LogError = "write /var/lib/proclet/logs/web/web-0.stdout.log: no space left on device"
	if got := runningMessage(s); got != "output is not being logged: "+s.LogError {
		t.Errorf("message = %q", got)
	}
	s.Probe.Message = "HTTP 503"
	if got := runningMessage(s); got != "HTTP 503" {
		t.Errorf("message = %q, want the probe's first", got)
	}
	if got := runningMessage(stopping(s)); got != "" {
		t.Errorf("message of a stopping instance = %q", got)
	}
}
