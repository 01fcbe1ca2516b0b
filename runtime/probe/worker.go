package probe

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"proclet.dev/proclet/apis/v1alpha1"

	"proclet.dev/proclet/runtime"
)

// probeHost is where HTTP and TCP probes connect when the probe names no
// host: the instance runs on this host.
const probeHost = "127.0.0.1"

// Kind is one of an instance's three probes.
type Kind uint8

const (
	Startup Kind = iota
	Readiness
	Liveness
)

// String is the kind's name as exec.Options.OnProbe receives it.
func (k Kind) String() string {
	switch k {
	case Startup:
		return "startup"
	case Readiness:
		return "readiness"
	}
	return "liveness"
}

// Result is the result of one probe run.
type Result struct {
	OK bool
	// Msg says why a probe failed ("HTTP 503"); on a success it is a
	// warning ("redirect to another host not followed") or empty.
	Msg string
}

// Runner runs one probe of one instance, once. It returns when ctx is
// done at the latest (the probe's timeout, or the end of probing), and then
// with a failure. Runners are per kind: HTTP, TCP, exec.
type Runner interface {
	Probe(ctx context.Context) Result
}

// Func is a func as a probeRunner.
type Func func(ctx context.Context) Result

func (f Func) Probe(ctx context.Context) Result { return f(ctx) }

// Failing fails every run with msg: a probe that cannot be built (a
// port name the instance does not have) fails rather than vanishes.
func Failing(msg string) Runner {
	return Func(func(context.Context) Result { return Result{Msg: msg} })
}

// Loop is one probe of a worker: its timing, thresholds and runner. One
// run of it at a time touches it.
type Loop struct {
	kind                          Kind
	initialDelay, period, timeout time.Duration
	counter                       probeCounter
	runner                        Runner

	lastMsg, lastWarn string       // the last failure and warning seen, to update and log on change only
	log               *slog.Logger // the worker's with l's attributes, made by the first line logged (logAt)

	// The Scheduler's, under its lock: the worker, the next run, the
	// index in its heap (-1: not queued).
	ws   *workerState
	next time.Time
	idx  int
	// The current run's start and deadline when the poller began it
	// (zero otherwise), and what is left of it to do when the poller
	// handed it to the pool after a redirect; the run's owner's.
	begin, deadline time.Time
	resume          func(context.Context) Result
}

// NewLoop applies the Kubernetes defaults to whatever p leaves zero
// (the spec is normally defaulted already). A liveness or startup probe's
// success threshold is always 1, as Kubernetes requires.
func NewLoop(kind Kind, p *v1alpha1.Probe, r Runner) *Loop {
	or := func(v, def int32) int32 {
		if v <= 0 {
			return def
		}
		return v
	}
	success := or(p.SuccessThreshold, v1alpha1.DefaultProbeSuccessThreshold)
	initial := outcomeFailure // readiness: not ready until it succeeds
	switch kind {
	case Startup:
		success, initial = 1, outcomeUnknown
	case Liveness:
		success, initial = 1, outcomeSuccess
	}
	return &Loop{
		kind:         kind,
		initialDelay: time.Duration(max(p.InitialDelaySeconds, 0)) * time.Second,
		period:       time.Duration(or(p.PeriodSeconds, v1alpha1.DefaultProbePeriodSeconds)) * time.Second,
		timeout:      time.Duration(or(p.TimeoutSeconds, v1alpha1.DefaultProbeTimeoutSeconds)) * time.Second,
		counter:      newProbeCounter(success, or(p.FailureThreshold, v1alpha1.DefaultProbeFailureThreshold), initial),
		runner:       r,
		idx:          -1,
	}
}

// probeTick is the grain of probe schedules: every run happens on a
// multiple of it on the clock, at the first tick at or after it is due.
// Runs due in the same tick, of any instance, run together, and the daemon
// wakes once for them: a wake from idle can cost more CPU than a loopback
// probe itself (0.1 ms on the 2-core VM of docs/performance.md, where this
// alone more than halved the CPU of probing 100 instances every second). A
// run is late by less than a tick, as the random jitter it replaces;
// instances started one after another (a fork takes milliseconds) still
// spread over the ticks of their period.
const probeTick = 100 * time.Millisecond

// onTick is the first multiple of probeTick at or after t, by the wall
// clock (so that every loop of the process shares the ticks), keeping t's
// monotonic reading.
func onTick(t time.Time) time.Time {
	r := time.Duration(t.UnixNano() % int64(probeTick))
	if r < 0 {
		r += probeTick
	}
	if r == 0 {
		return t
	}
	return t.Add(probeTick - r)
}

// Worker is the probes of one instance: the startup probe first, then
// readiness and liveness, each on its own period, run by a Scheduler. It never restarts anything: a liveness or startup failure is
// recorded (ProbeStatus.Failed) and ends all probing of the instance.
type Worker struct {
	App, Instance string
	Started       time.Time // the process start: initial delays count from it

	Startup, Readiness, Liveness *Loop // nil: no such probe
	// NotifyReady, when the readiness probe is notify (Readiness is then
	// nil), says whether the instance sent READY=1: what a passing startup
	// probe makes it.
	NotifyReady func() bool

	// OnProbe, when set, is called after every probe run (exec.Options.OnProbe).
	OnProbe func(app, probe string, ok bool, d time.Duration)
	// Update applies change to the instance's ProbeStatus under its
	// owner's lock and, if notify, sends one Event. It does nothing once
	// probing was stopped, so nothing is changed after a Stop.
	Update func(notify bool, change func(*runtime.ProbeStatus))
	Log    *slog.Logger

	onResult func(Result, time.Duration) // tests: every run's result
}

// Run probes until a liveness or startup probe fails or ctx is done, and
// returns after every goroutine it started has ended: it is w alone on a
// Scheduler of its own (the runtime shares one Scheduler between all its
// instances instead).
func (w *Worker) Run(ctx context.Context) {
	var (
		s    Scheduler
		wg   sync.WaitGroup
		done = make(chan struct{})
	)
	s.Add(ctx, w, &wg, func() { close(done) })
	<-done
	wg.Wait()
}

// step applies the result of one run of l, which took d: the thresholds,
// the status (Update) and OnProbe. It reports whether l is over, and if
// so whether it ended well (startup passed).
func (w *Worker) step(l *Loop, res Result, d time.Duration) (over, ok bool) {
	if w.OnProbe != nil {
		w.OnProbe(w.App, l.kind.String(), res.OK, d)
	}
	if w.onResult != nil {
		w.onResult(res, d)
	}
	msg := ""
	if !res.OK {
		msg = l.kind.String() + " probe: " + res.Msg
		l.logAt(w, slog.LevelDebug, "probe failed", "message", res.Msg)
	} else if res.Msg != "" && res.Msg != l.lastWarn {
		l.logAt(w, slog.LevelWarn, "probe succeeded with a warning", "message", res.Msg)
	}
	if res.OK {
		l.lastWarn = res.Msg
	}

	now := time.Now()
	tr := l.counter.observe(res.OK)
	// Once the outcome is success (not before: a readiness probe short
	// of its successThreshold is still why the instance is not ready).
	clearMsg := l.recovered(res.OK && l.counter.outcome == outcomeSuccess)
	switch {
	case tr == toSuccess && l.kind == Startup:
		noReadiness, notifyReady := w.Readiness == nil && w.NotifyReady == nil, w.NotifyReady
		w.Update(true, func(p *runtime.ProbeStatus) {
			p.Started = true
			// Read under the owner's lock, as Notify.Apply's change is
			// applied: a READY=1 is never lost between the two.
			if noReadiness || notifyReady != nil && notifyReady() {
				p.Ready, p.ReadySince = true, now
			}
			if clearMsg != nil {
				clearMsg(p)
			}
		})
		l.logAt(w, slog.LevelDebug, "started")
		return true, true
	case tr == toSuccess && l.kind == Readiness:
		w.Update(true, func(p *runtime.ProbeStatus) {
			if p.Failed == "" { // a liveness failure in between wins
				p.Ready, p.ReadySince = true, now
			}
			if clearMsg != nil {
				clearMsg(p)
			}
		})
		l.logAt(w, slog.LevelDebug, "ready")
	case tr == toFailure && l.kind == Readiness:
		l.lastMsg = msg
		w.Update(true, func(p *runtime.ProbeStatus) { p.Ready, p.Message = false, msg })
		l.logAt(w, slog.LevelInfo, "not ready", "message", res.Msg)
	case tr == toFailure: // liveness or startup: the instance must be restarted
		reason := runtime.ReasonLivenessProbeFailed
		if l.kind == Startup {
			reason = runtime.ReasonStartupProbeFailed
		}
		w.Update(true, func(p *runtime.ProbeStatus) { p.Failed, p.Message, p.Ready = reason, msg, false })
		l.logAt(w, slog.LevelWarn, "probe failed; probing stops until the instance is replaced", "reason", reason, "message", res.Msg,
			"failures", l.counter.failureThreshold)
		return true, false
	case !res.OK && msg != l.lastMsg:
		// Below the threshold: the message is news for people, not an
		// event for the reconciler.
		l.lastMsg = msg
		w.Update(false, func(p *runtime.ProbeStatus) { p.Message = msg })
	case clearMsg != nil: // a success after failures short of the threshold
		w.Update(false, clearMsg)
	}
	return false, false
}

// logAt logs msg at level with the attributes of l (instance, probe),
// when w's logger logs that level. The logger with them is made then:
// most instances never log a probe line, and one is about 400 bytes.
func (l *Loop) logAt(w *Worker, level slog.Level, msg string, args ...any) {
	if !w.Log.Enabled(context.Background(), level) {
		return
	}
	if l.log == nil {
		l.log = w.Log.With("instance", w.Instance, "probe", l.kind.String())
	}
	l.log.Log(context.Background(), level, msg, args...)
}

// recovered returns what a success of l does to the status, nil when
// nothing: the message of l's last failure is cleared (as Kubernetes drops
// a container's last probe failure from its Ready condition once the probe
// passes), unless another loop's message replaced it or the instance
// failed (a liveness or startup failure ends it; its message stays).
func (l *Loop) recovered(ok bool) func(*runtime.ProbeStatus) {
	if !ok || l.lastMsg == "" {
		return nil
	}
	last := l.lastMsg
	l.lastMsg = ""
	return func(p *runtime.ProbeStatus) {
		if p.Message == last && p.Failed == "" {
			p.Message = ""
		}
	}
}

// Port resolves a probe's port against the instance: a number as is,
// a name through the ports the instance was started with, or a fixed port
// of the spec.
func Port(port v1alpha1.IntOrString, s runtime.StartSpec) (int, error) {
	if !port.IsString {
		if port.IntVal < 1 || port.IntVal > 65535 {
			return 0, fmt.Errorf("port %d is not a port", port.IntVal)
		}
		return int(port.IntVal), nil
	}
	if p, ok := s.Ports[port.StrVal]; ok && p > 0 {
		return int(p), nil
	}
	if s.Spec != nil {
		for _, p := range s.Spec.Ports {
			if p.Name == port.StrVal && p.Port > 0 {
				return int(p.Port), nil
			}
		}
	}
	return 0, fmt.Errorf("port %q is not a port of the instance", port.StrVal)
}

// AssumeSuccess makes l start from success instead of its kind's initial
// outcome: an adopted instance that was ready stays ready until its
// readiness probe fails failureThreshold times.
func (l *Loop) AssumeSuccess() { l.counter.outcome = outcomeSuccess }
