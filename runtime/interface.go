package runtime

import (
	"context"
	"syscall"
	"time"

	"proclet.dev/proclet/apis/v1alpha1"
)

// Interface is the reconciler's only door to the OS. It never decides
// whether to start or stop anything: it does what it is told and reports
// what it observes.
type Interface interface {
	// Start forks and execs one instance and returns once the exec has
	// happened or failed. On failure (missing binary, bad working dir,
	// unknown user) it returns an error wrapping the OS error and keeps no
	// handle. On success the instance is observable through Instances until
	// Release.
	Start(ctx context.Context, spec StartSpec) (State, error)
	// Stop begins a graceful stop of the instance uid and returns at once:
	// preStop (if any), then spec.Signal to the process group, then SIGKILL
	// to the group after what is left of spec.Grace (never less than 2 s;
	// a zero grace kills at once and skips preStop). Stopping an instance
	// that is already stopping or has exited is a no-op. The exit reported
	// afterwards carries spec.Reason. Unknown uid: ErrNotFound.
	Stop(uid string, spec StopSpec) error
	// Instances returns the observed state of every instance of app that
	// the runtime holds a handle for: running, stopping, or exited and not
	// yet released. Sorted by ordinal, then start time.
	Instances(app string) []State
	// AllInstances returns the observed state of every instance of every
	// app, in one call: what Instances returns for each app, together
	// (the reconciler refreshes every instance's usage from it).
	AllInstances() []State
	// Apps returns the names of the apps the runtime holds a handle for,
	// sorted: after a daemon restart, the apps of adopted instances.
	Apps() []string
	// Release forgets the handle of an exited instance. It is a no-op for a
	// live or unknown uid.
	Release(uid string)
	// Events delivers a notice each time an instance's observed state
	// changes (it exited). Events carry names, not decisions: the receiver
	// re-reads Instances.
	Events() <-chan Event
}

// StartSpec is everything needed to start one instance.
type StartSpec struct {
	UID      string
	App      string
	Instance string // "<app>-<ordinal>"
	Ordinal  int
	Revision string
	// Spec is the defaulted spec of the app (read only: never mutate it).
	// The runtime uses Command, Env, WorkingDir, User,
	// Resources.Limits.OpenFiles, Logs and Sockets: each socket is bound
	// once per address, shared by every instance of the app that starts
	// with it and held until the last one is released, and handed to the
	// instance with systemd's protocol (fds 3…, LISTEN_FDS, LISTEN_PID,
	// LISTEN_FDNAMES). A socket that cannot be had (its port is another
	// app's, or in use) fails the start with a *PortInUseError naming
	// spec.sockets[i].
	Spec *v1alpha1.AppSpec
	// Dir is the manifest's directory: the working dir when Spec has none,
	// and the base of a relative Spec.WorkingDir.
	Dir string
	// Content holds the values of Spec.EnvFrom and of Spec.Env's
	// valueFrom entries, read by the watcher; nil when the spec reads no
	// file. Its values are never logged or written to disk.
	Content *v1alpha1.Content
	// Ports are the instance's ports by name (PORT, PORT_<NAME>). Nil:
	// the runtime allocates them from Spec.Ports (see "Ports" in doc.go)
	// and reports them in State.Ports; set, they are used as given.
	Ports map[string]int32
	// RecordExit: the instance's exit code must be known even when it
	// exits after a daemon restart (its restartPolicy is OnFailure or
	// Never). The runtime may start it through a waiting process that
	// records the exit (runtime/exec: the waiting shim).
	RecordExit bool
}

// StopSpec says how to stop an instance.
type StopSpec struct {
	Signal  syscall.Signal
	Grace   time.Duration
	PreStop []string // argv of the preStop hook, nil for none
	Reason  string   // recorded as the exit's reason, e.g. "Stopped"
}

// State is what the runtime observes of one instance.
type State struct {
	UID       string
	App       string
	Instance  string
	Ordinal   int
	Revision  string
	PID       int
	StartedAt time.Time
	// Ports are the ports the instance was started with, by name.
	Ports map[string]int32
	// Stopping is true once Stop was called (until the process exits).
	Stopping bool
	// Exit is nil while the process runs.
	Exit *v1alpha1.ExitStatus
	// Usage is the last sample of the instance's process tree; zero
	// before the first sample. A runtime may sample only when its caller
	// asks or a limit needs it (runtime/exec: SampleStale), so it may be
	// old; Usage.SampledAt says how old.
	Usage Usage
	// Probe is what the instance's probes say.
	Probe ProbeStatus
	// Init is the instance's progress through its init steps
	// (spec.initCommands); zero without any. While a step runs, Probe
	// is neither Started nor Ready and no probe runs.
	Init InitProgress
	// LogError is the error writing the instance's output to its log files
	// (a full disk), while writes fail; "" otherwise. The output is
	// dropped meanwhile and the instance keeps running.
	LogError string
}

// ProbeStatus is the outcome of an instance's probes so far, with the
// thresholds applied. An instance without probes is Started and Ready from
// its start.
type ProbeStatus struct {
	// Started: the startup probe has succeeded (or there is none).
	// Until then readiness and liveness are not run.
	Started bool
	// Ready: readiness per its thresholds (or Started, without a
	// readiness probe). ReadySince is when it last became ready.
	Ready      bool
	ReadySince time.Time
	// Failed is "LivenessProbeFailed" or "StartupProbeFailed" once a
	// liveness or startup probe reached its failure threshold; probing of
	// the instance has then stopped. The reconciler decides the restart.
	Failed string
	// Message is the last probe failure, for people ("HTTP 503", "dial tcp
	// 127.0.0.1:8000: connection refused"), or the last STATUS= of an
	// instance with a notify probe.
	Message string
}

// Usage is one sample of an instance's whole process tree.
type Usage struct {
	SampledAt   time.Time
	CPUSeconds  float64 // user+system CPU time of the tree so far
	CPUPercent  float64 // of one core, between this sample and the instance's previous one
	MemoryBytes uint64  // RSS of the tree
	Listening   []int32 // TCP ports the tree listens on, sorted
	// OverMemoryLimit counts the consecutive samples, up to this one,
	// with MemoryBytes above the spec's memory limit; 0 without a limit,
	// and where the instance's cgroup enforces it (memory.max). The
	// reconciler decides how many are too many.
	OverMemoryLimit int
}

// Running reports whether the process has not exited yet.
func (s State) Running() bool { return s.Exit == nil }

// Event notices that something about an instance of App changed.
type Event struct {
	App string
	UID string
}
