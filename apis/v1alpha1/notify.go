package v1alpha1

// NotifyAction is the probe handler of systemd's notify protocol
// (sd_notify): the instance says itself when it is ready and that it is
// alive, through the datagram socket named by $NOTIFY_SOCKET, instead of
// being asked. It has no fields: `readinessProbe: {notify: {}}`.
//
// As a readinessProbe, READY=1 makes the instance ready, and STOPPING=1 or
// RELOADING=1 unready until the next READY=1. As a livenessProbe,
// WATCHDOG_USEC is periodSeconds (systemd's WatchdogSec); a period that
// passes without a WATCHDOG=1 is a failed run, failureThreshold failed runs
// in a row restart the instance, and WATCHDOG=trigger restarts it at once.
// A startup probe cannot be notify: READY=1 is the readiness probe's.
type NotifyAction struct{}

// probeHandlers lists the handlers a probe may hold, for errors.
const probeHandlers = "exec, httpGet, tcpSocket or notify"

// notify checks the notify handler of the probe at path and returns how
// many handlers it adds (0 or 1).
func (r *ruleSet) notify(path string, p *Probe) int {
	if p.Notify == nil {
		return 0
	}
	if path == "spec.startupProbe" {
		r.add(path+".notify", "a startup probe cannot be notify (use it as the readinessProbe: READY=1 is readiness)")
	}
	return 1
}

// UsesNotify reports whether the readiness or liveness probe of s is
// notify: its instances get $NOTIFY_SOCKET.
func (s *AppSpec) UsesNotify() bool {
	return s != nil && (s.ReadinessProbe != nil && s.ReadinessProbe.Notify != nil ||
		s.LivenessProbe != nil && s.LivenessProbe.Notify != nil)
}

// WatchdogPeriodSeconds is the period of the notify liveness probe of s
// (WATCHDOG_USEC, in seconds), 0 when its liveness probe is not notify.
func (s *AppSpec) WatchdogPeriodSeconds() int32 {
	if s == nil || s.LivenessProbe == nil || s.LivenessProbe.Notify == nil {
		return 0
	}
	if p := s.LivenessProbe.PeriodSeconds; p > 0 {
		return p
	}
	return DefaultProbePeriodSeconds
}
