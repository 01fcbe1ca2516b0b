package exec

import (
	"context"

	"proclet.dev/proclet/apis/v1alpha1"

	"proclet.dev/proclet/runtime"
)

// startProbes sets h's initial ProbeStatus and, when its spec has probes,
// starts its probe worker, owned by e (e.wg) and stopped by h.stopProbes:
// on Stop, on the exit, on Detach. Call it from Start, before h is
// published.
func (e *Runtime) startProbes(h *handle) {
	spec := h.spec.Spec
	h.state.Probe = runtime.InitialProbeStatus(spec, h.state.StartedAt)
	if spec.StartupProbe == nil && spec.ReadinessProbe == nil && spec.LivenessProbe == nil {
		return
	}
	// Never the Start request's context: probing lives as long as the
	// instance.
	ctx, cancel := context.WithCancel(context.Background())
	h.probeStop = cancel
	w := &probeWorker{
		app:      h.spec.App,
		instance: h.spec.Instance,
		started:  h.state.StartedAt,
		onProbe:  e.onProbe,
		log:      e.log.With("app", h.spec.App),
		update: func(notify bool, change func(*runtime.ProbeStatus)) {
			e.mu.Lock()
			if ctx.Err() != nil { // stopped under e.mu: nothing changes after
				e.mu.Unlock()
				return
			}
			change(&h.state.Probe)
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
		w.startup = newProbeLoop(startupProbe, p, e.probeRunner(h, startupProbe, p))
	}
	if p := spec.ReadinessProbe; p != nil {
		w.readiness = newProbeLoop(readinessProbe, p, e.probeRunner(h, readinessProbe, p))
	}
	if p := spec.LivenessProbe; p != nil {
		w.liveness = newProbeLoop(livenessProbe, p, e.probeRunner(h, livenessProbe, p))
	}
	// Adopted: go on from the recorded status (adopt_linux.go).
	h.resumeProbes(w)
	e.wg.Add(1) // within Start: StopAll and Detach wait for e.starts first
	go func() {
		defer e.wg.Done()
		w.run(ctx)
	}()
}

// stopProbes ends the probing of h for good. Call it with e.mu held, so
// that no probe result is applied after it.
func (h *handle) stopProbes() {
	if h.probeStop != nil {
		h.probeStop()
	}
}

// probeRunner builds the runner of p against the instance of h.
func (e *Runtime) probeRunner(h *handle, kind probeKind, p *v1alpha1.Probe) probeRunner {
	switch {
	case p.HTTPGet != nil:
		port, err := probePort(p.HTTPGet.Port, h.spec)
		if err != nil {
			return failingProbe(err.Error())
		}
		return newHTTPProbe(p.HTTPGet, port)
	case p.TCPSocket != nil:
		port, err := probePort(p.TCPSocket.Port, h.spec)
		if err != nil {
			return failingProbe(err.Error())
		}
		return newTCPProbe(p.TCPSocket, port)
	case p.Exec != nil && len(p.Exec.Command) > 0:
		path := "spec." + kind.String() + "Probe.exec.command"
		ep, err := newExecProbe(path, p.Exec.Command, h.env, specEnvBytes(h.env, h.spec.Spec), h.dir, h.cred)
		if err != nil {
			return failingProbe(err.Error())
		}
		return ep
	}
	return failingProbe("the probe has no handler")
}
