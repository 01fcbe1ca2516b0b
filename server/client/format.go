package client

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"proclet.dev/proclet/apis/v1alpha1"
)

// none is shown for a value that does not exist (no PID, never started).
const none = "-"

// HumanDuration prints d the way kubectl prints ages: "45s", "3m20s",
// "12m", "2h5m", "20h", "3d4h", "12d", "1y30d", "9y". Precision falls as d
// grows; a negative d (clock skew) is "0s".
func HumanDuration(d time.Duration) string {
	if d < 0 {
		return "0s"
	}
	sec := int64(d / time.Second)
	if sec < 60*2 {
		return fmt.Sprintf("%ds", sec)
	}
	minutes := int64(d / time.Minute)
	if minutes < 10 {
		if s := sec % 60; s != 0 {
			return fmt.Sprintf("%dm%ds", minutes, s)
		}
		return fmt.Sprintf("%dm", minutes)
	}
	if minutes < 60*3 {
		return fmt.Sprintf("%dm", minutes)
	}
	hours := int64(d / time.Hour)
	if hours < 8 {
		if m := minutes % 60; m != 0 {
			return fmt.Sprintf("%dh%dm", hours, m)
		}
		return fmt.Sprintf("%dh", hours)
	}
	if hours < 48 {
		return fmt.Sprintf("%dh", hours)
	}
	days := hours / 24
	if hours < 24*8 {
		if h := hours % 24; h != 0 {
			return fmt.Sprintf("%dd%dh", days, h)
		}
		return fmt.Sprintf("%dd", days)
	}
	if days < 365*2 {
		return fmt.Sprintf("%dd", days)
	}
	years := days / 365
	if years < 8 {
		if d := days % 365; d != 0 {
			return fmt.Sprintf("%dy%dd", years, d)
		}
		return fmt.Sprintf("%dy", years)
	}
	return fmt.Sprintf("%dy", years)
}

// Age is the HumanDuration from t to now, or "-" when t is nil or zero.
func Age(t *time.Time, now time.Time) string {
	if t == nil || t.IsZero() {
		return none
	}
	return HumanDuration(now.Sub(*t))
}

// Bytes prints a memory size in binary units as kubectl top does: "512B",
// "900Ki", "12Mi", "1.5Gi". Zero is "-" (no process to measure).
func Bytes(n uint64) string {
	const (
		ki = 1 << 10
		mi = 1 << 20
		gi = 1 << 30
	)
	switch {
	case n == 0:
		return none
	case n < ki:
		return fmt.Sprintf("%dB", n)
	case n < mi:
		return fmt.Sprintf("%dKi", n/ki)
	case n < gi:
		return fmt.Sprintf("%dMi", n/mi)
	default:
		return strconv.FormatFloat(float64(n)/gi, 'f', 1, 64) + "Gi"
	}
}

// CPUPercent prints a share of one CPU: "0.0%", "1.5%", "180.2%".
func CPUPercent(p float64) string {
	return strconv.FormatFloat(p, 'f', 1, 64) + "%"
}

// InstancePorts prints an instance's ports: the named ones sorted by name
// ("admin:9100,http:8000"), else the ports it listens on ("8000,8001"),
// else "-".
func InstancePorts(in *v1alpha1.Instance) string {
	if len(in.Ports) > 0 {
		names := make([]string, 0, len(in.Ports))
		for name := range in.Ports {
			names = append(names, name)
		}
		slices.Sort(names)
		parts := make([]string, len(names))
		for i, name := range names {
			parts[i] = name + ":" + strconv.Itoa(int(in.Ports[name]))
		}
		return strings.Join(parts, ",")
	}
	if len(in.Listening) > 0 {
		ports := slices.Clone(in.Listening)
		slices.Sort(ports)
		parts := make([]string, len(ports))
		for i, p := range ports {
			parts[i] = strconv.Itoa(int(p))
		}
		return strings.Join(parts, ",")
	}
	return none
}

// InstancePhase is the phase, with the reason in brackets when there is
// one: "Running", "Pending (CrashLoopBackOff)", "Failed (StartFailed)".
func InstancePhase(in *v1alpha1.Instance) string {
	if in.Reason == "" {
		return string(in.Phase)
	}
	return fmt.Sprintf("%s (%s)", in.Phase, in.Reason)
}

// Restarts is the restart count, with how long ago the last exit was when
// there was one: "0", "3 (5m ago)".
func Restarts(in *v1alpha1.Instance, now time.Time) string {
	s := strconv.Itoa(int(in.Restarts))
	if in.Restarts > 0 && in.LastExit != nil && !in.LastExit.At.IsZero() {
		s += " (" + HumanDuration(now.Sub(in.LastExit.At)) + " ago)"
	}
	return s
}

// running reports whether the instance has a process to measure.
func running(in *v1alpha1.Instance) bool {
	return in.PID > 0 && (in.Phase == v1alpha1.PhaseRunning || in.Phase == v1alpha1.PhaseStarting ||
		in.Phase == v1alpha1.PhaseTerminating || strings.HasPrefix(string(in.Phase), "Init:"))
}
