package probe

import (
	"context"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"proclet.dev/proclet/apis/v1alpha1"

	"proclet.dev/proclet/runtime"
)

// The worker's timing is tested in fake time (testing/synctest) with
// scripted runners: time.Sleep below only advances the bubble's clock.

// probeRecorder is the worker's owner in these tests: it applies updates
// under its lock, counts the events, and applies nothing once stopped (as
// Runtime does after Stop).
type probeRecorder struct {
	ctx context.Context

	mu      sync.Mutex
	status  runtime.ProbeStatus
	events  []runtime.ProbeStatus // the status after each notifying update
	results []string              // OnProbe calls: "readiness+" / "liveness-" and so on
	took    []time.Duration
}

func (r *probeRecorder) update(notify bool, change func(*runtime.ProbeStatus)) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.ctx.Err() != nil {
		return
	}
	change(&r.status)
	if notify {
		r.events = append(r.events, r.status)
	}
}

func (r *probeRecorder) onProbe(_, probe string, ok bool, d time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	res := "-"
	if ok {
		res = "+"
	}
	r.results = append(r.results, probe+res)
	r.took = append(r.took, d)
}

func (r *probeRecorder) snapshot() (runtime.ProbeStatus, []runtime.ProbeStatus) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.status, slices.Clone(r.events)
}

// script is a runner whose result is a function of the time since t0; it
// records when it ran.
type script struct {
	t0     time.Time
	result func(since time.Duration) Result

	mu    sync.Mutex
	calls []time.Duration // since t0
}

func (s *script) Probe(context.Context) Result {
	since := time.Since(s.t0)
	s.mu.Lock()
	s.calls = append(s.calls, since)
	s.mu.Unlock()
	return s.result(since)
}

func (s *script) ran() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.calls)
}

// okFrom succeeds from d on and fails before with msg.
func okFrom(d time.Duration, msg string) func(time.Duration) Result {
	return func(since time.Duration) Result {
		if since >= d {
			return Result{OK: true}
		}
		return Result{Msg: msg}
	}
}

// failFrom fails with msg from d on and succeeds before.
func failFrom(d time.Duration, msg string) func(time.Duration) Result {
	return func(since time.Duration) Result {
		if since >= d {
			return Result{Msg: msg}
		}
		return Result{OK: true}
	}
}

// probeTest is a worker under test, started at the bubble's now.
type probeTest struct {
	t      *testing.T
	t0     time.Time
	w      *Worker
	rec    *probeRecorder
	cancel context.CancelFunc
	done   chan struct{}
}

// newProbeTest builds a worker for spec with runners (by kind) and an
// initial status as Runtime would set it.
func newProbeTest(t *testing.T, spec *v1alpha1.AppSpec, runners map[Kind]Runner) *probeTest {
	ctx, cancel := context.WithCancel(t.Context())
	t0 := time.Now()
	rec := &probeRecorder{ctx: ctx, status: runtime.InitialProbeStatus(spec, t0)}
	w := &Worker{
		App: "web", Instance: "web-0", Started: t0,
		OnProbe: rec.onProbe,
		Update:  rec.update,
		Log:     slog.New(slog.DiscardHandler),
	}
	for kind, p := range map[Kind]*v1alpha1.Probe{Startup: spec.StartupProbe, Readiness: spec.ReadinessProbe, Liveness: spec.LivenessProbe} {
		if p == nil {
			continue
		}
		l := NewLoop(kind, p, runners[kind])
		switch kind {
		case Startup:
			w.Startup = l
		case Readiness:
			w.Readiness = l
		case Liveness:
			w.Liveness = l
		}
	}
	return &probeTest{t: t, t0: t0, w: w, rec: rec, cancel: cancel, done: make(chan struct{})}
}

func (pt *probeTest) start() {
	go func() {
		defer close(pt.done)
		pt.w.Run(pt.rec.ctx)
	}()
	pt.t.Cleanup(func() { pt.cancel(); <-pt.done })
}

func (pt *probeTest) ended() bool {
	synctest.Wait()
	select {
	case <-pt.done:
		return true
	default:
		return false
	}
}

func probeSpec(period, delay int32) *v1alpha1.Probe {
	return &v1alpha1.Probe{PeriodSeconds: period, InitialDelaySeconds: delay}
}

func secs(ds ...float64) []time.Duration {
	out := make([]time.Duration, len(ds))
	for i, d := range ds {
		out[i] = time.Duration(d * float64(time.Second))
	}
	return out
}

func TestProbeWorker_ReadinessReadyWithOneEvent(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		spec := &v1alpha1.AppSpec{ReadinessProbe: probeSpec(1, 0)}
		r := &script{t0: time.Now(), result: okFrom(3*time.Second, "HTTP 503")}
		pt := newProbeTest(t, spec, map[Kind]Runner{Readiness: r})
		if st := pt.rec.status; !st.Started || st.Ready {
			t.Fatalf("initial status %+v, want started and not ready", st)
		}
		pt.start()
		time.Sleep(10*time.Second + time.Millisecond)
		st, events := pt.rec.snapshot()
		if !st.Ready || !st.ReadySince.Equal(pt.t0.Add(3*time.Second)) {
			t.Errorf("status %+v, want ready since t0+3s", st)
		}
		if st.Message != "" {
			t.Errorf("message %q once ready, want none: the failure is over", st.Message)
		}
		if len(events) != 1 {
			t.Errorf("%d events, want 1 (the Ready flip only): %+v", len(events), events)
		}
		if got, want := r.ran(), secs(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10); !slices.Equal(got, want) {
			t.Errorf("probed at %v, want %v", got, want)
		}
	})
}

func TestProbeWorker_NoProbeBeforeInitialDelay(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		// the endpoint fails before 3 s; with initialDelaySeconds
		// 3 no failure may be counted (a liveness probe would otherwise
		// fail at once with failureThreshold 1).
		spec := &v1alpha1.AppSpec{LivenessProbe: &v1alpha1.Probe{PeriodSeconds: 2, InitialDelaySeconds: 3, FailureThreshold: 1}}
		r := &script{t0: time.Now(), result: okFrom(3*time.Second, "HTTP 500")}
		pt := newProbeTest(t, spec, map[Kind]Runner{Liveness: r})
		pt.start()
		time.Sleep(2999 * time.Millisecond)
		if got := r.ran(); len(got) != 0 {
			t.Fatalf("probed at %v, before initialDelay (3 s)", got)
		}
		time.Sleep(6100 * time.Millisecond)
		if got, want := r.ran(), secs(3, 5, 7, 9); !slices.Equal(got, want) {
			t.Errorf("probed at %v, want %v", got, want)
		}
		if st, _ := pt.rec.snapshot(); st.Failed != "" {
			t.Errorf("failed %q: a failure before the initial delay was counted", st.Failed)
		}
	})
}

func TestProbeWorker_InitialDelayCountsFromProcessStart(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		spec := &v1alpha1.AppSpec{ReadinessProbe: probeSpec(1, 5)}
		r := &script{t0: time.Now(), result: okFrom(0, "")}
		pt := newProbeTest(t, spec, map[Kind]Runner{Readiness: r})
		pt.w.Started = pt.t0.Add(-4 * time.Second) // the process started 4 s ago
		pt.start()
		time.Sleep(2500 * time.Millisecond)
		if got, want := r.ran(), secs(1, 2); !slices.Equal(got, want) {
			t.Errorf("probed at %v, want %v", got, want)
		}
	})
}

// Runs happen on the first probeTick (100 ms of the clock) at or after
// they are due, so that runs of instances started close together coincide
// and the daemon wakes once for them. (The bubble's clock starts on a
// tick.)
func TestProbeWorker_RunsOnTheTicks(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		base := time.Now()
		spec := &v1alpha1.AppSpec{ReadinessProbe: probeSpec(1, 0)}
		var scripts []*script
		for _, at := range []time.Duration{0, 10 * time.Millisecond, 99 * time.Millisecond, 100 * time.Millisecond, 150 * time.Millisecond} {
			time.Sleep(at - time.Since(base)) // the instance starts at base+at
			r := &script{t0: base, result: okFrom(0, "")}
			newProbeTest(t, spec, map[Kind]Runner{Readiness: r}).start()
			scripts = append(scripts, r)
		}
		time.Sleep(2500*time.Millisecond - time.Since(base))
		want := [][]time.Duration{secs(0, 1, 2), secs(0.1, 1.1, 2.1), secs(0.1, 1.1, 2.1), secs(0.1, 1.1, 2.1), secs(0.2, 1.2, 2.2)}
		for i, r := range scripts {
			if got := r.ran(); !slices.Equal(got, want[i]) {
				t.Errorf("instance %d probed at %v, want %v", i, got, want[i])
			}
		}
	})
}

func TestOnTick(t *testing.T) {
	at := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, tt := range []struct{ in, want time.Duration }{
		{0, 0}, {1, 100 * time.Millisecond}, {100 * time.Millisecond, 100 * time.Millisecond},
		{100*time.Millisecond + 1, 200 * time.Millisecond}, {1999 * time.Millisecond, 2 * time.Second},
	} {
		if got := onTick(at.Add(tt.in)); !got.Equal(at.Add(tt.want)) {
			t.Errorf("onTick(+%v) = +%v, want +%v", tt.in, got.Sub(at), tt.want)
		}
	}
	before := time.Date(1969, 12, 31, 23, 59, 59, 950_000_000, time.UTC) // a negative UnixNano
	if got, want := onTick(before), time.Unix(0, 0); !got.Equal(want) {
		t.Errorf("onTick(%v) = %v, want %v", before, got, want)
	}
}

// A run that overran its period is followed on the next tick, then the
// period goes on from there.
func TestProbeWorker_OverrunFollowedOnTheNextTick(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		spec := &v1alpha1.AppSpec{ReadinessProbe: &v1alpha1.Probe{PeriodSeconds: 1, TimeoutSeconds: 5}}
		first := true
		slow := &script{t0: time.Now(), result: func(time.Duration) Result {
			if first {
				first = false
				time.Sleep(1250 * time.Millisecond)
			}
			return Result{OK: true}
		}}
		pt := newProbeTest(t, spec, map[Kind]Runner{Readiness: slow})
		pt.start()
		time.Sleep(3500 * time.Millisecond)
		if got, want := slow.ran(), secs(0, 1.3, 2.3, 3.3); !slices.Equal(got, want) {
			t.Errorf("probed at %v, want %v", got, want)
		}
	})
}

func TestProbeWorker_PeriodFromScheduleNotFromEnd(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		spec := &v1alpha1.AppSpec{ReadinessProbe: probeSpec(1, 0)}
		slow := &script{t0: time.Now(), result: func(time.Duration) Result {
			time.Sleep(400 * time.Millisecond)
			return Result{OK: true}
		}}
		pt := newProbeTest(t, spec, map[Kind]Runner{Readiness: slow})
		pt.start()
		time.Sleep(3500 * time.Millisecond)
		if got, want := slow.ran(), secs(0, 1, 2, 3); !slices.Equal(got, want) {
			t.Errorf("probed at %v, want %v", got, want)
		}
	})
}

func TestProbeWorker_StartupGatesTheOthers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		spec := &v1alpha1.AppSpec{
			StartupProbe:   &v1alpha1.Probe{PeriodSeconds: 1, FailureThreshold: 30},
			ReadinessProbe: probeSpec(2, 0),
			LivenessProbe:  probeSpec(3, 0),
		}
		t0 := time.Now()
		startup := &script{t0: t0, result: okFrom(5*time.Second, "connection refused")}
		ready := &script{t0: t0, result: okFrom(0, "")}
		live := &script{t0: t0, result: okFrom(0, "")}
		pt := newProbeTest(t, spec, map[Kind]Runner{Startup: startup, Readiness: ready, Liveness: live})
		if st := pt.rec.status; st.Started || st.Ready {
			t.Fatalf("initial status %+v, want neither started nor ready", st)
		}
		pt.start()
		time.Sleep(4900 * time.Millisecond)
		if n, m := len(ready.ran()), len(live.ran()); n+m != 0 {
			t.Fatalf("readiness ran %d and liveness %d times before startup succeeded", n, m)
		}
		if st, _ := pt.rec.snapshot(); st.Started || st.Ready {
			t.Fatalf("status %+v before startup succeeded", st)
		}
		time.Sleep(10 * time.Second)
		if got, want := startup.ran(), secs(0, 1, 2, 3, 4, 5); !slices.Equal(got, want) {
			t.Errorf("startup probed at %v, want %v (it stops once it succeeded)", got, want)
		}
		if got, want := ready.ran(), secs(5, 7, 9, 11, 13); !slices.Equal(got, want) {
			t.Errorf("readiness probed at %v, want %v", got, want)
		}
		if got, want := live.ran(), secs(5, 8, 11, 14); !slices.Equal(got, want) {
			t.Errorf("liveness probed at %v, want %v", got, want)
		}
		st, events := pt.rec.snapshot()
		if !st.Started || !st.Ready || !st.ReadySince.Equal(t0.Add(5*time.Second)) {
			t.Errorf("status %+v, want started and ready since t0+5s", st)
		}
		if len(events) != 2 || !events[0].Started || events[0].Ready {
			t.Errorf("events %+v, want Started, then Ready", events)
		}
	})
}

func TestProbeWorker_StartupWithoutReadinessMakesReady(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		spec := &v1alpha1.AppSpec{StartupProbe: probeSpec(1, 0)}
		r := &script{t0: time.Now(), result: okFrom(2*time.Second, "refused")}
		pt := newProbeTest(t, spec, map[Kind]Runner{Startup: r})
		pt.start()
		time.Sleep(5 * time.Second)
		st, events := pt.rec.snapshot()
		if !st.Started || !st.Ready || !st.ReadySince.Equal(pt.t0.Add(2*time.Second)) || len(events) != 1 {
			t.Errorf("status %+v, %d events; want started and ready since t0+2s, one event", st, len(events))
		}
		if !pt.ended() {
			t.Error("worker still running with nothing left to probe")
		}
	})
}

func TestProbeWorker_StartupFailureStopsProbing(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		spec := &v1alpha1.AppSpec{StartupProbe: &v1alpha1.Probe{PeriodSeconds: 1, FailureThreshold: 4}, ReadinessProbe: probeSpec(1, 0)}
		startup := &script{t0: time.Now(), result: okFrom(time.Hour, "connection refused")}
		ready := &script{t0: time.Now(), result: okFrom(0, "")}
		pt := newProbeTest(t, spec, map[Kind]Runner{Startup: startup, Readiness: ready})
		pt.start()
		time.Sleep(time.Minute)
		st, events := pt.rec.snapshot()
		want := runtime.ProbeStatus{Failed: runtime.ReasonStartupProbeFailed, Message: "startup probe: connection refused"}
		if st != want || len(events) != 1 {
			t.Errorf("status %+v with %d events, want %+v with 1", st, len(events), want)
		}
		if got := startup.ran(); len(got) != 4 {
			t.Errorf("startup probed at %v, want 4 runs then nothing", got)
		}
		if got := ready.ran(); len(got) != 0 {
			t.Errorf("readiness ran at %v without a successful startup", got)
		}
		if !pt.ended() {
			t.Error("worker still running after the startup failure")
		}
	})
}

func TestProbeWorker_LivenessFailureStopsAllProbing(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		spec := &v1alpha1.AppSpec{ReadinessProbe: probeSpec(1, 0), LivenessProbe: probeSpec(1, 0)}
		t0 := time.Now()
		ready := &script{t0: t0, result: okFrom(0, "")}
		live := &script{t0: t0, result: failFrom(10*time.Second, "HTTP 500")}
		pt := newProbeTest(t, spec, map[Kind]Runner{Readiness: ready, Liveness: live})
		pt.start()
		time.Sleep(12*time.Second + time.Millisecond)
		st, events := pt.rec.snapshot()
		if st.Failed != runtime.ReasonLivenessProbeFailed || st.Ready || st.Message != "liveness probe: HTTP 500" {
			t.Errorf("status %+v, want LivenessProbeFailed, not ready, the message", st)
		}
		if len(events) != 2 || !events[0].Ready || events[1].Failed == "" {
			t.Errorf("events %+v, want Ready, then Failed", events)
		}
		nr, nl := len(ready.ran()), len(live.ran())
		if nl != 13 {
			t.Errorf("liveness ran %d times, want 13 (0..12 s)", nl)
		}
		time.Sleep(time.Minute) // on hold until the instance is replaced
		if len(ready.ran()) != nr || len(live.ran()) != nl {
			t.Errorf("probing went on after the liveness failure: readiness %v, liveness %v", ready.ran(), live.ran())
		}
		if !pt.ended() {
			t.Error("worker still running after the liveness failure")
		}
	})
}

func TestProbeWorker_ReadinessFailureNeverFails(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		// ready, 3 failures (not ready, not Failed), then back
		// after successThreshold successes.
		spec := &v1alpha1.AppSpec{ReadinessProbe: &v1alpha1.Probe{PeriodSeconds: 1, SuccessThreshold: 2}}
		r := &script{t0: time.Now(), result: func(since time.Duration) Result {
			if since >= 5*time.Second && since < 10*time.Second {
				return Result{Msg: "HTTP 503"}
			}
			return Result{OK: true}
		}}
		pt := newProbeTest(t, spec, map[Kind]Runner{Readiness: r})
		pt.start()
		time.Sleep(20 * time.Second)
		_, events := pt.rec.snapshot()
		var flips []string
		for _, e := range events {
			if e.Failed != "" {
				t.Fatalf("readiness failure set Failed: %+v", e)
			}
			flips = append(flips, readyAt(e, pt.t0))
		}
		// Ready at 1 s (2nd success), not ready at 7 s (3rd failure),
		// ready at 11 s (2nd success after).
		if want := []string{"ready@1s", "notready@1s", "ready@11s"}; !slices.Equal(flips, want) {
			t.Errorf("transitions %v, want %v", flips, want)
		}
		if !events[1].ReadySince.Equal(pt.t0.Add(time.Second)) || events[1].Message != "readiness probe: HTTP 503" {
			t.Errorf("not-ready event %+v", events[1])
		}
	})
}

// readyAt names a readiness transition with ReadySince relative to t0.
func readyAt(p runtime.ProbeStatus, t0 time.Time) string {
	since := p.ReadySince.Sub(t0)
	if p.Ready {
		return "ready@" + since.String()
	}
	return "notready@" + since.String()
}

func TestProbeWorker_FlappingReadinessNeverReady(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		spec := &v1alpha1.AppSpec{ReadinessProbe: &v1alpha1.Probe{PeriodSeconds: 1, SuccessThreshold: 2}}
		n := 0
		var mu sync.Mutex
		flap := Func(func(context.Context) Result {
			mu.Lock()
			defer mu.Unlock()
			n++
			return Result{OK: n%2 == 1, Msg: "HTTP 503"}
		})
		pt := newProbeTest(t, spec, map[Kind]Runner{Readiness: flap})
		pt.start()
		time.Sleep(100 * time.Second)
		st, events := pt.rec.snapshot()
		if st.Ready || len(events) != 0 {
			t.Errorf("status %+v after %d events: a flapping readiness became ready", st, len(events))
		}
		mu.Lock()
		defer mu.Unlock()
		if n < 100 {
			t.Errorf("only %d runs in 100 s", n)
		}
	})
}

func TestProbeWorker_TimeoutIsAFailureAndReported(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		spec := &v1alpha1.AppSpec{LivenessProbe: &v1alpha1.Probe{PeriodSeconds: 10, TimeoutSeconds: 2, FailureThreshold: 2}}
		hang := Func(func(ctx context.Context) Result {
			<-ctx.Done()
			return Result{Msg: ctx.Err().Error()}
		})
		pt := newProbeTest(t, spec, map[Kind]Runner{Liveness: hang})
		pt.start()
		time.Sleep(11 * time.Second)
		if st, _ := pt.rec.snapshot(); st.Failed != "" || st.Message != "liveness probe: context deadline exceeded" {
			t.Errorf("after one timeout: %+v, want the message and no Failed yet", st)
		}
		time.Sleep(time.Second + time.Millisecond)
		st, _ := pt.rec.snapshot()
		if st.Failed != runtime.ReasonLivenessProbeFailed {
			t.Errorf("status %+v after two timeouts, want LivenessProbeFailed", st)
		}
		pt.rec.mu.Lock()
		defer pt.rec.mu.Unlock()
		if want := []string{"liveness-", "liveness-"}; !slices.Equal(pt.rec.results, want) {
			t.Errorf("OnProbe saw %v, want %v", pt.rec.results, want)
		}
		if want := secs(2, 2); !slices.Equal(pt.rec.took, want) {
			t.Errorf("OnProbe durations %v, want %v", pt.rec.took, want)
		}
	})
}

func TestProbeWorker_StopDiscardsTheRunningProbe(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		spec := &v1alpha1.AppSpec{LivenessProbe: &v1alpha1.Probe{PeriodSeconds: 1, TimeoutSeconds: 5, FailureThreshold: 1}}
		started := make(chan struct{}, 1)
		hang := Func(func(ctx context.Context) Result {
			started <- struct{}{}
			<-ctx.Done()
			return Result{Msg: "cancelled"}
		})
		pt := newProbeTest(t, spec, map[Kind]Runner{Liveness: hang})
		pt.start()
		<-started
		time.Sleep(500 * time.Millisecond)
		pt.cancel()
		if !pt.ended() {
			t.Fatal("worker still running after its context ended")
		}
		st, events := pt.rec.snapshot()
		if st.Failed != "" || len(events) != 0 || len(pt.rec.results) != 0 {
			t.Errorf("a cancelled probe counted: status %+v, events %v, OnProbe %v", st, events, pt.rec.results)
		}
	})
}

func TestProbeWorker_SuccessWarningIsNotAFailure(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		spec := &v1alpha1.AppSpec{ReadinessProbe: probeSpec(1, 0)}
		warn := Func(func(context.Context) Result {
			return Result{OK: true, Msg: "HTTP 302: redirect to another host not followed"}
		})
		pt := newProbeTest(t, spec, map[Kind]Runner{Readiness: warn})
		pt.start()
		time.Sleep(3 * time.Second)
		if st, _ := pt.rec.snapshot(); !st.Ready || st.Message != "" {
			t.Errorf("status %+v, want ready without a failure message", st)
		}
	})
}

func TestInitialProbeStatus(t *testing.T) {
	at := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	p := &v1alpha1.Probe{}
	tests := []struct {
		name string
		spec *v1alpha1.AppSpec
		want runtime.ProbeStatus
	}{
		{"no probes", &v1alpha1.AppSpec{}, runtime.ProbeStatus{Started: true, Ready: true, ReadySince: at}},
		{"liveness only", &v1alpha1.AppSpec{LivenessProbe: p}, runtime.ProbeStatus{Started: true, Ready: true, ReadySince: at}},
		{"readiness", &v1alpha1.AppSpec{ReadinessProbe: p}, runtime.ProbeStatus{Started: true}},
		{"startup", &v1alpha1.AppSpec{StartupProbe: p}, runtime.ProbeStatus{}},
		{"nil spec", nil, runtime.ProbeStatus{Started: true, Ready: true, ReadySince: at}},
	}
	for _, tt := range tests {
		if got := runtime.InitialProbeStatus(tt.spec, at); got != tt.want {
			t.Errorf("%s: %+v, want %+v", tt.name, got, tt.want)
		}
	}
}

func TestProbePort(t *testing.T) {
	s := runtime.StartSpec{
		Ports: map[string]int32{"http": 8001},
		Spec:  &v1alpha1.AppSpec{Ports: []v1alpha1.PortSpec{{Name: "http", Range: "8000-8009"}, {Name: "admin", Port: 9000}, {Name: "grpc", Range: "7000-7001"}}},
	}
	for _, tt := range []struct {
		port v1alpha1.IntOrString
		want int
		err  bool
	}{
		{v1alpha1.FromInt(8080), 8080, false},
		{v1alpha1.FromString("http"), 8001, false},
		{v1alpha1.FromString("admin"), 9000, false},
		{v1alpha1.FromString("grpc"), 0, true},
		{v1alpha1.FromString("nope"), 0, true},
		{v1alpha1.FromInt(0), 0, true},
	} {
		got, err := Port(tt.port, s)
		if got != tt.want || (err != nil) != tt.err {
			t.Errorf("probePort(%v) = %d, %v; want %d, error %v", tt.port, got, err, tt.want, tt.err)
		}
	}
}

// A loop's logger (the worker's with the instance and probe attributes,
// ~400 bytes) is made by its first line logged only: a thousand passing
// probes hold none; a line logged carries the attributes.
func TestProbeWorker_LoggerMadeByTheFirstLineOnly(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		spec := &v1alpha1.AppSpec{ReadinessProbe: probeSpec(1, 0), LivenessProbe: probeSpec(1, 0)}
		var out strings.Builder
		ok := &script{t0: time.Now(), result: okFrom(0, "")}
		failing := &script{t0: time.Now(), result: failFrom(2*time.Second, "HTTP 503")}
		pt := newProbeTest(t, spec, map[Kind]Runner{Liveness: ok, Readiness: failing})
		pt.w.Log = slog.New(slog.NewTextHandler(&out, &slog.HandlerOptions{Level: slog.LevelInfo}))
		pt.start()
		time.Sleep(5 * time.Second)
		pt.cancel()
		<-pt.done
		if pt.w.Liveness.log != nil {
			t.Errorf("a probe that logged nothing holds a logger")
		}
		if pt.w.Readiness.log == nil {
			t.Errorf("a probe that logged holds no logger")
		}
		if !strings.Contains(out.String(), `msg="not ready" instance=web-0 probe=readiness message="HTTP 503"`) {
			t.Errorf("logged %q, want the not ready line with the instance and probe", out.String())
		}
		if strings.Contains(out.String(), "probe failed") {
			t.Errorf("logged %q: a debug line below the logger's level", out.String())
		}
	})
}
