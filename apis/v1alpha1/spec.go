package v1alpha1

import (
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
