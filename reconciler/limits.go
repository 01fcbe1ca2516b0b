package reconciler

import (
	"fmt"
	"strings"

	"proclet.dev/proclet/apis/v1alpha1"
	"proclet.dev/proclet/runtime"
)

// ReasonMemoryLimitExceeded is the exit reason of an instance restarted
// because its process tree's RSS stayed above resources.limits.memory.
const ReasonMemoryLimitExceeded = "MemoryLimitExceeded"

// memoryLimitSamples is how many consecutive samples above the memory limit
// restart an instance: one spike does not.
const memoryLimitSamples = 2

// ConditionResourceLimits says whether the app's resources.limits are
// enforced on this host. It is there only when the app has a memory or cpu
// limit.
const ConditionResourceLimits = "ResourceLimits"

// The reasons of a ResourceLimits condition.
const (
	reasonLimitsEnforced         = "LimitsEnforced"
	reasonCPULimitNotEnforced    = "CPULimitNotEnforced"    // no --cgroup-root
	reasonLimitUnsupported       = "LimitUnsupported"       // the cgroup root lacks the controller
	reasonMemoryLimitNotEnforced = "MemoryLimitNotEnforced" // no cgroup memory controller, no sampling
)

// overMemoryLimit reports whether the running instance s has been above
// its memory limit long enough to be restarted.
func overMemoryLimit(s runtime.State) bool {
	return s.Running() && !s.Stopping && s.Usage.OverMemoryLimit >= memoryLimitSamples
}

// memoryLimitMessage says why s is stopped: "memory 300Mi over the limit
// 256Mi".
func memoryLimitMessage(s runtime.State, app *v1alpha1.App) string {
	limit := "its limit"
	if app != nil && app.Spec.Resources.Limits.Memory != "" {
		limit = string(app.Spec.Resources.Limits.Memory)
	}
	return fmt.Sprintf("memory %s over the limit %s", formatBytes(s.Usage.MemoryBytes), limit)
}

// formatBytes writes n in binary units as a manifest would: 300Mi, 1.5Gi.
func formatBytes(n uint64) string {
	switch {
	case n >= 1<<30:
		return strings.TrimSuffix(fmt.Sprintf("%.1f", float64(n)/(1<<30)), ".0") + "Gi"
	case n >= 1<<20:
		return fmt.Sprintf("%dMi", (n+1<<19)>>20)
	case n >= 1<<10:
		return fmt.Sprintf("%dKi", (n+1<<9)>>10)
	}
	return fmt.Sprintf("%d", n)
}

// appsOverMemoryLimit are the apps of states with an instance to restart
// for its memory, each once: RefreshUsage gives them a pass, since a sample
// sends no runtime event.
func appsOverMemoryLimit(states []runtime.State) []string {
	var out []string
	seen := map[string]bool{}
	for _, s := range states {
		if overMemoryLimit(s) && !seen[s.App] {
			seen[s.App] = true
			out = append(out, s.App)
		}
	}
	return out
}

// limitsCondition is the ResourceLimits condition of spec on a runtime
// that enforces what ls says; false when the spec has no memory or cpu
// limit. A limit that is not enforced makes it False, never a silent no-op.
func limitsCondition(spec *v1alpha1.AppSpec, ls runtime.LimitSupport) (v1alpha1.Condition, bool) {
	mem, cpu := spec.Resources.Limits.Memory, spec.Resources.Limits.CPU
	if mem == "" && cpu == "" {
		return v1alpha1.Condition{}, false
	}
	var enforced, reasons, problems []string
	if mem != "" {
		switch {
		case ls.Memory:
			enforced = append(enforced, fmt.Sprintf("memory %s by cgroup memory.max", mem))
		case ls.Sampling:
			enforced = append(enforced, fmt.Sprintf("memory %s by sampling the RSS of the process tree", mem))
		default:
			reasons = append(reasons, reasonMemoryLimitNotEnforced)
			problems = append(problems, fmt.Sprintf("memory limit %s is not enforced: no cgroup memory controller and sampling is off (--sample-interval 0)", mem))
		}
	}
	if cpu != "" {
		switch {
		case ls.CPU:
			enforced = append(enforced, fmt.Sprintf("cpu %s by cgroup cpu.max", cpu))
		case ls.CgroupRoot == "":
			reasons = append(reasons, reasonCPULimitNotEnforced)
			problems = append(problems, fmt.Sprintf("cpu limit %s is not enforced: no --cgroup-root", cpu))
		default:
			why := ls.Problem
			if why == "" {
				why = "no cpu controller in " + ls.CgroupRoot
			}
			reasons = append(reasons, reasonLimitUnsupported)
			problems = append(problems, fmt.Sprintf("cpu limit %s is not enforced: %s", cpu, why))
		}
	}
	if len(problems) > 0 {
		return cond(ConditionResourceLimits, v1alpha1.ConditionFalse, reasons[0], strings.Join(problems, "; ")), true
	}
	return cond(ConditionResourceLimits, v1alpha1.ConditionTrue, reasonLimitsEnforced, strings.Join(enforced, "; ")), true
}

// runningMessage is the message shown for a running instance: its last
// probe failure, else why its output is not being logged.
func runningMessage(s runtime.State) string {
	switch {
	case s.Stopping:
		return ""
	case s.Probe.Message != "":
		return s.Probe.Message
	case s.LogError != "":
		return "output is not being logged: " + s.LogError
	}
	return ""
}
