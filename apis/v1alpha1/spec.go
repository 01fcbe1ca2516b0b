package v1alpha1

import (
	"fmt"
	"math"
	"syscall"
	"time"
)

// GracePeriod is terminationGracePeriodSeconds as a duration (the default,
// 30s, when unset).
func (s *AppSpec) GracePeriod() time.Duration {
	if s.TerminationGracePeriodSeconds == nil {
		return DefaultTerminationGracePeriodSeconds * time.Second
	}
	sec := *s.TerminationGracePeriodSeconds
	if sec > int64(math.MaxInt64/time.Second) {
		return math.MaxInt64
	}
	return time.Duration(sec) * time.Second
}

// StopSignalValue is the signal stopSignal names (SIGTERM when it is unset;
// validation has rejected any other name ParseSignal does not know).
func (s *AppSpec) StopSignalValue() syscall.Signal {
	if sig, err := ParseSignal(s.StopSignal); err == nil {
		return sig
	}
	return syscall.SIGTERM
}

// ReplicaCount is replicas (the default, 1, when unset).
func (s *AppSpec) ReplicaCount() int32 {
	if s.Replicas == nil {
		return DefaultReplicas
	}
	return *s.Replicas
}

// Bounds returns the ports p may take: [Port, Port] for a fixed port,
// [LOW, HIGH] for a range "LOW-HIGH".
func (p PortSpec) Bounds() (lo, hi int32, err error) {
	if p.Range == "" {
		if p.Port < 1 || p.Port > 65535 {
			return 0, 0, fmt.Errorf("port %s: %d is not a port number", p.Name, p.Port)
		}
		return p.Port, p.Port, nil
	}
	lo, hi, err = parsePortRange(p.Range)
	if err != nil {
		return 0, 0, fmt.Errorf("port %s: %w", p.Name, err)
	}
	return lo, hi, nil
}
