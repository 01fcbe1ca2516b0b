package exec

import (
	"context"
	"time"

	"proclet.dev/proclet/runtime"
	"proclet.dev/proclet/runtime/procfs"
)

// DefaultSampleInterval is how often the Runtime samples its instances when
// Options.SampleInterval is zero.
const DefaultSampleInterval = 5 * time.Second

// sampleLoop runs a pass at once and then every interval until ctx is
// done. Run owns it.
func (e *Runtime) sampleLoop(ctx context.Context) {
	s := procfs.NewHostSampler()
	defer s.Close()
	t := time.NewTicker(e.sampleInterval)
	defer t.Stop()
	var lastErr string
	for {
		if err := e.sampleOnce(s, time.Now()); err != nil && err.Error() != lastErr {
			e.log.Warn("sampling the instances", "err", err)
			lastErr = err.Error()
		} else if err == nil {
			lastErr = ""
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// sampleOnce samples every live instance and writes their Usage, then
// calls OnSample. No lock is held during the /proc reads: the targets are
// collected first, and a handle reaped meanwhile keeps its last usage.
func (e *Runtime) sampleOnce(s *procfs.Sampler, now time.Time) error {
	e.mu.Lock()
	targets := make([]procfs.Target, 0, len(e.handles))
	for uid, h := range e.handles {
		if !h.live.reaped && !h.live.finished {
			targets = append(targets, procfs.Target{UID: uid, PID: h.pid, StartedAt: h.live.state.StartedAt})
		}
	}
	e.mu.Unlock()
	usage, err := s.Pass(now, targets)
	if err != nil {
		return err
	}
	e.mu.Lock()
	for uid, u := range usage {
		if h, ok := e.handles[uid]; ok && !h.live.reaped {
			u.OverMemoryLimit = overMemoryLimit(h.live.state.Usage.OverMemoryLimit, h.sampledLimitLocked(), u)
			h.live.state.Usage = u
		}
	}
	e.mu.Unlock()
	if e.onSample != nil {
		e.onSample()
	}
	return nil
}

func sampleInterval(d time.Duration) time.Duration {
	if d == 0 {
		return DefaultSampleInterval
	}
	return d
}

// AllInstances returns the state of every instance the Runtime holds, of
// every app, in no particular order. It is not part of Interface: it is the
// bulk read of whoever consumes OnSample, for which one Instances call per
// app would cost apps × instances at each pass.
func (e *Runtime) AllInstances() []runtime.State {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make([]runtime.State, 0, len(e.handles))
	for _, h := range e.handles {
		out = append(out, h.stateLocked())
	}
	return out
}
