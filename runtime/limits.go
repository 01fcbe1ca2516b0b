package runtime

// This file holds resources.limits as the runtime sees them: what an
// implementation can enforce (LimitSupport) and the limits' values.

import "proclet.dev/proclet/apis/v1alpha1"

// ReasonOOMKilled is the exit reason of an instance whose cgroup saw an OOM
// kill (memory.events oom_kill went up) while it ran, unless it was being
// stopped, whose reason wins.
const ReasonOOMKilled = "OOMKilled"

// LimitSupport says how the runtime enforces resources.limits, so that the
// reconciler can report a limit that is not enforced instead of ignoring it.
type LimitSupport struct {
	// CgroupRoot is the delegated cgroup v2 subtree, "" without one.
	CgroupRoot string
	// Memory: memory.max is set in each instance's cgroup (the kernel
	// OOM-kills the instance at the limit, reported as OOMKilled).
	Memory bool
	// CPU: cpu.max is set in each instance's cgroup.
	CPU bool
	// Sampling: the RSS of each instance's process tree is sampled, so a
	// memory limit is enforced by polling where there is no cgroup
	// memory controller (MemoryLimitExceeded).
	Sampling bool
	// Problem says why a controller is missing under CgroupRoot, for
	// people ("cgroup.controllers of /sys/fs/cgroup/proclet has no cpu").
	Problem string
}

// MemoryLimit is spec's resources.limits.memory in bytes, 0 when unset
// (or unusable: validation rejects such a value before it gets here).
func MemoryLimit(spec *v1alpha1.AppSpec) int64 {
	if spec == nil {
		return 0
	}
	n, err := spec.Resources.Limits.Memory.Value()
	if err != nil || n < 0 {
		return 0
	}
	return n
}

// CPULimitMillis is spec's resources.limits.cpu in millicores, 0 when unset.
func CPULimitMillis(spec *v1alpha1.AppSpec) int64 {
	if spec == nil {
		return 0
	}
	n, err := spec.Resources.Limits.CPU.MilliValue()
	if err != nil || n < 0 {
		return 0
	}
	return n
}
