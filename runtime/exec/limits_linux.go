package exec

// This file holds the memory limit by polling, counted at each sampling
// pass, and what the runtime enforces. The cgroup side is runtime/cgroup.

import "proclet.dev/proclet/runtime"

// LimitSupport reports what e enforces. It does not change after New.
func (e *Runtime) LimitSupport() runtime.LimitSupport {
	ls := runtime.LimitSupport{Sampling: e.sampleInterval > 0}
	if e.cgroups != nil {
		ls.CgroupRoot = e.cgroups.Root
		ls.Memory, ls.CPU = e.cgroups.Memory, e.cgroups.CPU
		ls.Problem = e.cgroups.Problem
	}
	return ls
}

// overMemoryLimit is the count of consecutive samples above the memory
// limit after this one: prev+1 when u is above limit, else 0; always 0
// without a limit. The runtime only counts: the reconciler decides when
// the count is enough to restart the instance, so that one spike does not.
func overMemoryLimit(prev int, limit int64, u runtime.Usage) int {
	if limit <= 0 || u.MemoryBytes <= uint64(limit) {
		return 0
	}
	return prev + 1
}

// sampledLimitLocked is the memory limit the sampler polls for h: none
// when h's cgroup has memory.max, which the kernel enforces itself (a
// tree-summed RSS counts shared pages once per process and could restart
// an instance the cgroup holds under its limit). Caller holds e.mu.
func (h *handle) sampledLimitLocked() int64 {
	if !h.live.limitKnown {
		h.live.limit, h.live.limitKnown = 0, true
		if h.cgroup == nil || !h.cgroup.MemoryMax {
			h.live.limit = runtime.MemoryLimit(h.spec.Spec)
		}
	}
	return h.live.limit
}
