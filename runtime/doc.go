// Package runtime is the contract between the reconciler and the
// operating system: Interface, what it is given (StartSpec, StopSpec) and
// what it reports (State, ProbeStatus, Usage, Event, the errors), and the
// pure helpers both sides share (StopSpecFor, InitialProbeStatus, the
// limits' values).
//
// The runtime must not decide whether to start or stop anything: that is
// the reconciler's. It reports what it observes: Instances for the level,
// and Events (a name, never a decision) when an instance exits or its
// probes change its status.
//
// This package builds on any OS and must never import an implementation:
// runtime/exec is the Linux one (main constructs it), runtime/runtimetest
// the fake the reconciler's tests use.
package runtime
