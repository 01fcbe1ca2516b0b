package exec

import (
	"context"

	"proclet.dev/proclet/apis/v1alpha1"

	"proclet.dev/proclet/runtime"
	"proclet.dev/proclet/runtime/probe"
)

// probeScheduler runs the probes of every instance of a Runtime (one
// goroutine, while any instance has probes; see runtime/probe).
type probeScheduler = probe.Scheduler

// startProbes sets h's initial ProbeStatus and, when its spec has probes,
// hands its probe worker to e's probe scheduler, stopped by h.stopProbes:
// on Stop, on the exit, on Detach. Call it from Start, before h is
// published.
func (e *Runtime) startProbes(h *handle) {
	spec := h.spec.Spec
	h.live.state.Probe = runtime.InitialProbeStatus(spec, h.live.state.StartedAt)
	if spec.StartupProbe == nil && spec.ReadinessProbe == nil && spec.LivenessProbe == nil {
		e.deferProbes(h, nil, nil, nil, nil) // ready once the init steps are done
		return
	}
	// Never the Start request's context: probing lives as long as the
	// instance.
	ctx, cancel := context.WithCancel(context.Background())
	h.probeStop = cancel
	w := &probe.Worker{
		App:      h.spec.App,
		Instance: h.spec.Instance,
		Started:  h.live.state.StartedAt,
		OnProbe:  e.onProbe,
		Log:      e.log.With("app", h.spec.App),
		Update: func(notify bool, change func(*runtime.ProbeStatus)) {
			e.mu.Lock()
			if ctx.Err() != nil { // stopped under e.mu: nothing changes after
				e.mu.Unlock()
				return
			}
			change(&h.live.state.Probe)
			if notify {
				e.notifyLocked(h.spec.App, h.spec.UID)
			}
			e.mu.Unlock()
			if notify {
				e.kickRun()
			}
		},
	}
	if p := spec.StartupProbe; p != nil {
		w.Startup = probe.NewLoop(probe.Startup, p, e.probeRunner(h, probe.Startup, p))
	}
	if p := spec.ReadinessProbe; p != nil && p.Notify == nil {
		w.Readiness = probe.NewLoop(probe.Readiness, p, e.probeRunner(h, probe.Readiness, p))
	}
	n := e.notifyProbes(h, w)
	if p := spec.LivenessProbe; p != nil && w.Liveness == nil {
		w.Liveness = probe.NewLoop(probe.Liveness, p, e.probeRunner(h, probe.Liveness, p))
	}
	if e.deferProbes(h, w, n, ctx, cancel) { // init steps first (init_watch_linux.go)
		return
	}
	// Adopted: go on from the recorded status (adopt_linux.go).
	h.resumeProbes(w)
	e.registerNotify(h, n, cancel)
	// Within Start: StopAll and Detach wait for e.starts first, then for
	// e.wg, which counts the scheduler's goroutine while it runs.
	e.probes.Add(ctx, w, &e.wg, nil)
}

// stopProbes ends the probing of h for good. Call it with e.mu held, so
// that no probe result is applied after it.
func (h *handle) stopProbes() {
	if h.probeStop != nil {
		h.probeStop()
	}
}

// probeRunner builds the runner of p against the instance of h.
func (e *Runtime) probeRunner(h *handle, kind probe.Kind, p *v1alpha1.Probe) probe.Runner {
	switch {
	case p.HTTPGet != nil:
		port, err := probe.Port(p.HTTPGet.Port, h.spec)
		if err != nil {
			return probe.Failing(err.Error())
		}
		return probe.NewHTTP(p.HTTPGet, port)
	case p.TCPSocket != nil:
		port, err := probe.Port(p.TCPSocket.Port, h.spec)
		if err != nil {
			return probe.Failing(err.Error())
		}
		return probe.NewTCP(p.TCPSocket, port)
	case p.Exec != nil && len(p.Exec.Command) > 0:
		path := "spec." + kind.String() + "Probe.exec.command"
		ep, err := newExecProbe(path, p.Exec.Command, h.env, specEnvBytes(h.env, h.spec.Spec), h.dir, h.cred)
		if err != nil {
			return probe.Failing(err.Error())
		}
		return ep
	}
	return probe.Failing("the probe has no handler")
}
