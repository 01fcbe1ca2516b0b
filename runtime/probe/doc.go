// Package probe runs an instance's startup, readiness and liveness probes:
// the Worker with its schedule (on shared 100 ms ticks), the kubelet's
// thresholds (counter.go), and the httpGet and tcpSocket runners; an exec
// runner, which starts a process in the instance's environment, is
// runtime/exec's, behind the same Runner interface. Notify (notify.go) is
// the sd_notify-driven state of an instance: it parses and applies what
// the instance sent (runtime/exec owns the socket and says who sent it),
// readiness at once, liveness as a Loop whose runner is its watchdog.
//
// It reports through Worker.Update only: it must never restart, stop or
// signal anything (a liveness failure is recorded as ProbeStatus.Failed;
// the reconciler decides), never hold its owner's lock across a probe run,
// and never import runtime/exec.
package probe
