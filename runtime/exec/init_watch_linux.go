package exec

import (
	"bytes"
	"context"
	"os"
	"strconv"
	"time"

	"proclet.dev/proclet/runtime"
	"proclet.dev/proclet/runtime/probe"
	"proclet.dev/proclet/runtime/sockets/shim"
)

// isInitRunner tells whether pid is an init runner (argv[1] is
// shim.InitArg): it has not exec'd the command.
func isInitRunner(pid int) bool {
	argv, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
	if err != nil {
		return false
	}
	i := bytes.IndexByte(argv, 0)
	return i >= 0 && bytes.HasPrefix(argv[i+1:], []byte(shim.InitArg+"\x00"))
}

// watchInit follows h's init runner while its steps run: it reads the
// runner's progress every initPollInterval into State.Init (an Event at
// each change) and starts probing once the command runs. It ends then,
// at h's exit (whose Init initExit sets) or at Detach. Call it once h is
// published, within Start or New.
func (e *Runtime) watchInit(h *handle) {
	e.mu.Lock()
	running := h.live.state.Init.Running()
	if running {
		e.wg.Add(1)
	}
	e.mu.Unlock()
	if !running {
		e.startDeferredProbes(h)
		return
	}
	go func() {
		defer e.wg.Done()
		t := time.NewTicker(initPollInterval)
		defer t.Stop()
		for {
			select {
			case <-h.done:
				return
			case <-e.detachCh:
				return
			case <-t.C:
			}
			r, ok := e.readInitRecord(h.spec.UID, h.pid)
			if !ok || r.State == "failed" { // a failure is the exit's to report
				continue
			}
			p := initProgress(h.spec.Spec, r)
			e.mu.Lock()
			changed := p != h.live.state.Init
			if changed {
				h.live.state.Init = p
				e.notifyLocked(h.spec.App, h.spec.UID)
			}
			e.mu.Unlock()
			if changed {
				e.kickRun()
			}
			if !p.Running() {
				e.startDeferredProbes(h)
				return
			}
		}
	}()
}

// deferProbes keeps the probing of h, built by startProbes, from
// beginning while h's init steps run: it is kept for
// startDeferredProbes, and the instance is neither started nor ready.
// It reports whether it deferred. Before h is published.
func (e *Runtime) deferProbes(h *handle, w *probe.Worker, n *probe.Notify, ctx context.Context, cancel func()) bool {
	if !h.live.state.Init.Running() {
		return false
	}
	h.live.state.Probe = runtime.ProbeStatus{}
	if cancel != nil {
		h.probeStop = cancel
	}
	h.live.deferredProbes = func() {
		if w == nil { // no probes: Started and Ready from now
			return
		}
		w.Started = time.Now()
		if n != nil {
			e.mu.Lock()
			n.Resume(h.live.state.Probe)
			if e.notify == nil {
				h.live.state.Probe.Message = "notify probe: " + e.notifyErr
			}
			e.mu.Unlock()
			if e.notify != nil {
				unregister := e.notify.register(h.pid, n)
				e.mu.Lock()
				h.probeStop = func() { cancel(); unregister() }
				stopped := ctx.Err() != nil
				e.mu.Unlock()
				if stopped {
					unregister()
				}
			}
		}
		e.probes.Add(ctx, w, &e.wg, nil)
	}
	return true
}

// startDeferredProbes starts what deferProbes kept, from the initial
// status, unless h is gone or stopping.
func (e *Runtime) startDeferredProbes(h *handle) {
	e.mu.Lock()
	f := h.live.deferredProbes
	h.live.deferredProbes = nil
	if h.live.reaped || h.live.state.Stopping || e.detached {
		f = nil
	}
	if f != nil {
		h.live.state.Probe = runtime.InitialProbeStatus(h.spec.Spec, time.Now())
	}
	e.mu.Unlock()
	if f != nil {
		f()
	}
}
