package exec

import (
	"context"
	"sync"
	"time"

	"proclet.dev/proclet/runtime"
	"proclet.dev/proclet/runtime/procfs"
)

// DefaultSampleInterval is how often the Runtime samples its instances when
// Options.SampleInterval is zero.
const DefaultSampleInterval = 5 * time.Second

// samplers holds the Runtime's two samplers (see "Sampling" in doc.go):
// polled, for the instances whose memory limit is polled, sampled every
// interval by Run; onDemand, for every other live instance, sampled when
// a reader asks (SampleStale). Each instance is in one set for its whole
// life (the set depends on its spec and cgroup only), so each sampler
// always passes the same instances and keeps their CPU accounting.
type samplers struct {
	mu      sync.Mutex         // one pass at a time, its OnSample included
	s       [2]*procfs.Sampler // by set (setPolled, setOnDemand); made on first use
	lastN   [2]int             // targets of each set's last pass
	lastErr [2]string          // each set's last error logged
	closed  bool               // Run ended: no more passes
}

// The two sets of instances, indexes into samplers' arrays.
const (
	setPolled   = 0
	setOnDemand = 1
)

// sampleLoop samples the polled set at once and then every interval
// until ctx is done, then closes the samplers. Run owns it.
func (e *Runtime) sampleLoop(ctx context.Context) {
	defer e.closeSamplers()
	t := time.NewTicker(e.sampleInterval)
	defer t.Stop()
	for {
		e.samplePass(setPolled, time.Now())
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// SampleStale makes the Usage of every live instance at most one
// sampling interval old, for a reader about to show it: the instances
// whose memory limit is polled are sampled every interval anyway; the
// others are sampled now, in one pass, when their last pass began an
// interval ago or more (a few milliseconds at 1000 instances), and
// OnSample is called after it as after any pass. Concurrent callers share
// one pass. It does nothing when sampling is off, or after Run has ended.
func (e *Runtime) SampleStale() {
	if e.sampleInterval > 0 {
		e.demand.refresh()
	}
}

// samplePass samples the live instances of set with that set's sampler,
// writes their Usage and calls OnSample. No lock but samplers.mu is held
// during the /proc reads: the targets are collected first, and a handle
// reaped meanwhile keeps its last usage. A set without live instances is
// not passed (but once, to let go of what its sampler held).
func (e *Runtime) samplePass(set int, now time.Time) {
	sm := &e.samplers
	sm.mu.Lock()
	defer sm.mu.Unlock()
	if sm.closed {
		return
	}
	targets, live := e.sampleTargets(set == setPolled)
	if len(targets) == 0 && sm.lastN[set] == 0 {
		return
	}
	sm.lastN[set] = len(targets)
	if sm.s[set] == nil {
		sm.s[set] = procfs.NewHostSampler()
	}
	sm.s[set].SetMaxHeld(e.fds.samplerShare(live))
	usage, err := sm.s[set].Pass(now, targets)
	switch {
	case err != nil && err.Error() != sm.lastErr[set]:
		e.log.Warn("sampling the instances", "err", err)
		sm.lastErr[set] = err.Error()
	case err == nil:
		sm.lastErr[set] = ""
	}
	if err != nil {
		return
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
}

// sampleTargets are the live instances whose memory limit is polled
// (polled) or the others, and how many instances hold descriptors.
func (e *Runtime) sampleTargets(polled bool) (targets []procfs.Target, live int) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for uid, h := range e.handles {
		if !h.live.reaped && !h.live.finished && (h.sampledLimitLocked() > 0) == polled {
			targets = append(targets, procfs.Target{UID: uid, PID: h.pid, StartedAt: h.live.state.StartedAt})
		}
	}
	return targets, len(e.handles)
}

// closeSamplers releases what the samplers hold; no pass runs after it.
func (e *Runtime) closeSamplers() {
	sm := &e.samplers
	sm.mu.Lock()
	defer sm.mu.Unlock()
	for _, s := range sm.s {
		if s != nil {
			s.Close()
		}
	}
	sm.closed = true
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
