package v1alpha1

import "time"

// GroupVersion and Kind are the only apiVersion and kind of v1alpha1.
const (
	GroupVersion = "proclet.dev/v1alpha1"
	KindApp      = "App"
)

// The doc comment of every type and field of a manifest below is its
// description in the JSON Schema (schema_docs.go): a field without one
// fails TestSchema_EveryFieldHasASchemaAndADescription.

// App is one object of a manifest: a set of identical OS processes.
//
// Pointer fields distinguish "unset" from an explicit zero (replicas: 0,
// terminationGracePeriodSeconds: 0). After Default every pointer that has a
// default is non-nil, so consumers of a defaulted App never nil-check them.
type App struct {
	// APIVersion is the version of the schema: proclet.dev/v1alpha1.
	APIVersion string `json:"apiVersion" validate:"required,eq=proclet.dev/v1alpha1"`
	// Kind is the kind of object: App.
	Kind string `json:"kind" validate:"required,eq=App"`
	// Metadata names the app and labels it.
	Metadata ObjectMeta `json:"metadata"`
	// Spec is what to run and how.
	Spec AppSpec `json:"spec"`
	// Status is the daemon's to report. In a file it is accepted and dropped.
	Status *AppStatus `json:"status,omitempty" validate:"-"`

	// Job and CronJob are set when the App carries an object of kind Job
	// or CronJob (jobs.go): never read from a file of kind App.
	Job     *JobSpec     `json:"-" validate:"-"`
	CronJob *CronJobSpec `json:"-" validate:"-"`
}

// ObjectMeta is the Kubernetes-shaped metadata of an App.
type ObjectMeta struct {
	// Name is the app's name, unique among the manifests: a DNS-1123 label
	// (lowercase letters, digits and '-', at most 63 characters).
	Name string `json:"name" validate:"required,dns1123label"`
	// Labels are Kubernetes-style labels: keys an optional DNS prefix and
	// '/', then at most 63 letters, digits, '-', '_' and '.'; values the
	// same, or empty.
	Labels map[string]string `json:"labels,omitempty" validate:"dive,keys,labelkey,endkeys,labelvalue"`
	// Annotations are free-form notes with label-like keys;
	// proclet.dev/restartedAt rolls the app when it changes.
	Annotations map[string]string `json:"annotations,omitempty" validate:"dive,keys,labelkey,endkeys"`
	// Generation is set by the daemon (bumped when the revision changes); a
	// value in a file is dropped.
	Generation int64 `json:"generation,omitempty"`
	// CreationTimestamp is when the daemon first applied the app, kept
	// across daemon restarts (the AGE of `proclet get apps`); a value in a
	// file is dropped.
	CreationTimestamp time.Time `json:"creationTimestamp,omitzero"`
}

// AppSpec is the desired state of an App. docs/manifests.md describes each field.
type AppSpec struct {
	// Replicas is the number of instances, 0 to 10000 (default 1); 0 keeps
	// the app defined but stopped.
	Replicas *int32 `json:"replicas,omitempty" validate:"omitempty,min=0,max=10000"`
	// Command is the program and its arguments, run without a shell;
	// $(VAR) references expand from env, PORT and PROCLET_* variables.
	Command []string `json:"command" validate:"required,min=1,dive,nonul"`
	// InitCommands are steps run to completion, in order, before each
	// start of an instance's command (at most 16).
	InitCommands []InitCommand `json:"initCommands,omitempty" validate:"dive"`
	// WorkingDir is the instance's working directory (default: the
	// manifest's folder; a relative path is relative to it).
	WorkingDir string `json:"workingDir,omitempty" validate:"nonul"`
	// User is the user (a name or a uid) to run as; the daemon must run
	// as root.
	User string `json:"user,omitempty" validate:"nonul"`
	// Env are the instance's environment variables, in order; they
	// override envFrom.
	Env []EnvVar `json:"env,omitempty" validate:"dive"`
	// EnvFrom are dotenv files (at most 16) read into the environment
	// before env.
	EnvFrom []EnvFromSource `json:"envFrom,omitempty" validate:"dive"`
	// RolloutOnChange makes the content of files part of the revision: a
	// change rolls the app.
	RolloutOnChange *RolloutOnChange `json:"rolloutOnChange,omitempty"`
	// Ports are the named ports of each instance (at most 256): a fixed
	// port (replicas <= 1) or a range to pick from, given to the instance
	// as PORT_<NAME> (and PORT for the first).
	Ports []PortSpec `json:"ports,omitempty" validate:"dive"`
	// Sockets are listening sockets the daemon binds once and hands to
	// every instance (systemd's socket activation: LISTEN_FDS), at most 16:
	// one stable address for all replicas.
	Sockets []SocketSpec `json:"sockets,omitempty" validate:"dive"` // sockets.go
	// RestartPolicy says when an exited instance is started again:
	// Always (default), OnFailure or Never.
	RestartPolicy RestartPolicy `json:"restartPolicy,omitempty" validate:"omitempty,oneof=Always OnFailure Never"`
	// RestartBackoff is the crash-loop delay between restarts (default
	// initial 1s, max 5m, resetAfter 10m).
	RestartBackoff *BackoffSpec `json:"restartBackoff,omitempty"`
	// StartupProbe holds off readiness and liveness until it passes; a
	// failure restarts the instance. It cannot be notify.
	StartupProbe *Probe `json:"startupProbe,omitempty"`
	// ReadinessProbe says when an instance is ready (counted available,
	// let a rollout go on).
	ReadinessProbe *Probe `json:"readinessProbe,omitempty"`
	// LivenessProbe restarts an instance after failureThreshold failures
	// in a row.
	LivenessProbe *Probe `json:"livenessProbe,omitempty"`
	// Resources are the limits of each instance.
	Resources Resources `json:"resources,omitempty"`
	// TerminationGracePeriodSeconds is the time between the stop signal and
	// SIGKILL (default 30, at most 315360000); 0 kills at once.
	TerminationGracePeriodSeconds *int64 `json:"terminationGracePeriodSeconds,omitempty" validate:"omitempty,min=0"`
	// StopSignal is the signal that asks an instance to stop (default
	// SIGTERM), e.g. SIGINT, SIGQUIT or TERM.
	StopSignal string `json:"stopSignal,omitempty" validate:"omitempty,signal"`
	// Lifecycle holds the hooks run around an instance's life (preStop).
	Lifecycle *Lifecycle `json:"lifecycle,omitempty"`
	// Strategy is how a change of revision replaces instances (default
	// RollingUpdate, maxSurge 25%, maxUnavailable 25%).
	Strategy Strategy `json:"strategy,omitempty"`
	// MinReadySeconds is how long a new instance must be ready before it
	// counts as available (default 0, at most 315360000).
	MinReadySeconds int32 `json:"minReadySeconds,omitempty" validate:"min=0"`
	// ProgressDeadlineSeconds is how long a rollout may go without
	// progress before it is reported stalled (default 600; more than
	// minReadySeconds, at most 315360000).
	ProgressDeadlineSeconds *int32 `json:"progressDeadlineSeconds,omitempty" validate:"omitempty,min=1"`
	// Logs is the rotation of each instance's output files (default
	// maxSize 10Mi, maxFiles 5).
	Logs LogSpec `json:"logs,omitempty"`
	// DependsOn are apps whose instances must be ready (or started) before
	// this app's start; a cycle is an error.
	DependsOn []Dependency `json:"dependsOn,omitempty" validate:"dive"`
	// NodeSelector are labels the daemon's --node-labels must all have for
	// the app to run on its host.
	NodeSelector map[string]string `json:"nodeSelector,omitempty" validate:"dive,keys,labelkey,endkeys,labelvalue"`
}

// EnvVar is one environment variable; Value may use $(VAR) references.
// ValueFrom reads the value from a file instead (content.go).
type EnvVar struct {
	// Name is the variable's name: letters, digits, '_', '-' and '.', not
	// starting with a digit.
	Name string `json:"name" validate:"required,envname"`
	// Value is the variable's value; $(VAR) references expand. A number or
	// boolean is taken as written.
	Value string `json:"value" validate:"nonul"`
	// ValueFrom reads the value from a file instead of value.
	ValueFrom *EnvVarSource `json:"valueFrom,omitempty"`
}

// PortSpec names a port: either a fixed Port or a Range "LOW-HIGH".
type PortSpec struct {
	// Name is the port's name (at most 15 lowercase letters, digits and
	// '-', at least one letter), as probes and PORT_<NAME> use it.
	Name string `json:"name" validate:"required,portname"`
	// Port is a fixed port, 1-65535; it needs replicas <= 1.
	Port int32 `json:"port,omitempty" validate:"omitempty,min=1,max=65535"`
	// Range is the ports to pick from, "LOW-HIGH" (e.g. "8000-8099"), with
	// at least replicas ports.
	Range string `json:"range,omitempty" validate:"omitempty,portrange"`
}

// RestartPolicy says when an exited instance is started again.
type RestartPolicy string

// The restart policies.
const (
	RestartAlways    RestartPolicy = "Always"
	RestartOnFailure RestartPolicy = "OnFailure"
	RestartNever     RestartPolicy = "Never"
)

// BackoffSpec is the crash-loop protection: the first restart is immediate,
// then Initial, 2x, 4x ... capped at Max; a run of ResetAfter resets it.
type BackoffSpec struct {
	// Initial is the delay before the second restart in a row (default
	// 1s); each next one doubles it. At most max.
	Initial *Duration `json:"initial,omitempty" validate:"omitempty,gt=0"`
	// Max caps the delay (default 5m).
	Max *Duration `json:"max,omitempty" validate:"omitempty,gt=0"`
	// ResetAfter is how long an instance must run for its backoff to
	// start over (default 10m).
	ResetAfter *Duration `json:"resetAfter,omitempty" validate:"omitempty,gt=0"`
}

// Probe is a Kubernetes probe: exactly one handler plus timing.
type Probe struct {
	ProbeHandler
	// InitialDelaySeconds is the wait after the start before the first
	// run (default 0, at most 315360000).
	InitialDelaySeconds int32 `json:"initialDelaySeconds,omitempty" validate:"min=0"`
	// PeriodSeconds is the time between runs (default 10, at most
	// 315360000); for a notify liveness probe, the watchdog period.
	PeriodSeconds int32 `json:"periodSeconds,omitempty" validate:"omitempty,min=1"`
	// TimeoutSeconds bounds one run (default 1, at most 315360000).
	TimeoutSeconds int32 `json:"timeoutSeconds,omitempty" validate:"omitempty,min=1"`
	// SuccessThreshold is the successes in a row that make a failing probe
	// pass (default 1; must be 1 for liveness and startup probes).
	SuccessThreshold int32 `json:"successThreshold,omitempty" validate:"omitempty,min=1"`
	// FailureThreshold is the failures in a row that make a probe fail
	// (default 3).
	FailureThreshold int32 `json:"failureThreshold,omitempty" validate:"omitempty,min=1"`
}

// ProbeHandler holds exactly one of its fields.
type ProbeHandler struct {
	// Exec runs a command in the instance's environment; exit 0 passes.
	Exec *ExecAction `json:"exec,omitempty"`
	// HTTPGet sends a GET to the instance; a status 200-399 passes.
	HTTPGet *HTTPGetAction `json:"httpGet,omitempty"`
	// TCPSocket passes when a TCP connection opens.
	TCPSocket *TCPSocketAction `json:"tcpSocket,omitempty"`
	// Notify is systemd's notify protocol: the instance says READY=1 and
	// WATCHDOG=1 itself. Write it as notify: {}.
	Notify *NotifyAction `json:"notify,omitempty"`
}

// ExecAction runs a command; exit 0 is success.
type ExecAction struct {
	// Command is the program and its arguments, run without a shell;
	// $(VAR) references expand.
	Command []string `json:"command" validate:"required,min=1,dive,nonul"`
}

// HTTPGetAction is an HTTP GET against the instance; 200-399 is success.
type HTTPGetAction struct {
	// Path is the URL path, starting with '/' (default "/", at most 4096
	// bytes).
	Path string `json:"path,omitempty" validate:"omitempty,httppath"`
	// Port is a port number 1-65535 or the name of one of spec.ports.
	Port IntOrString `json:"port" validate:"probeport"`
	// Host is the host name or IP address to connect to (default
	// 127.0.0.1).
	Host string `json:"host,omitempty" validate:"omitempty,hostname_rfc1123|ip"`
	// Scheme is HTTP (default) or HTTPS.
	Scheme string `json:"scheme,omitempty" validate:"omitempty,oneof=HTTP HTTPS"`
	// HTTPHeaders are headers sent with each request (at most 64).
	HTTPHeaders []HTTPHeader `json:"httpHeaders,omitempty" validate:"dive"`
}

// HTTPHeader is one header sent by an HTTP probe.
type HTTPHeader struct {
	// Name is the header's name, an HTTP token.
	Name string `json:"name" validate:"required,headername"`
	// Value is the header's value: no line breaks, at most 8192 bytes.
	Value string `json:"value" validate:"headervalue"`
}

// TCPSocketAction succeeds when a TCP connection opens.
type TCPSocketAction struct {
	// Port is a port number 1-65535 or the name of one of spec.ports.
	Port IntOrString `json:"port" validate:"probeport"`
	// Host is the host name or IP address to connect to (default
	// 127.0.0.1).
	Host string `json:"host,omitempty" validate:"omitempty,hostname_rfc1123|ip"`
}

// Resources holds the limits of each instance.
type Resources struct {
	// Limits are the per-instance limits.
	Limits ResourceLimits `json:"limits,omitempty"`
}

// ResourceLimits are per-instance limits. Memory and CPU are Kubernetes
// quantities ("256Mi", "500m").
type ResourceLimits struct {
	// Memory is the most memory of the instance's processes, a quantity
	// ("256Mi", "1G"); enforced with a cgroup.
	Memory Quantity `json:"memory,omitempty" validate:"omitempty,quantity"`
	// CPU is the most CPU, in cores, a quantity ("500m", "2"); needs a
	// cgroup.
	CPU Quantity `json:"cpu,omitempty" validate:"omitempty,quantity"`
	// OpenFiles is the soft and hard RLIMIT_NOFILE of the instance.
	OpenFiles *int64 `json:"openFiles,omitempty" validate:"omitempty,min=1"`
}

// Lifecycle holds hooks run around an instance's life.
type Lifecycle struct {
	// PreStop runs before the stop signal, within the grace period.
	PreStop *LifecycleHandler `json:"preStop,omitempty"`
}

// LifecycleHandler is the action of a hook.
type LifecycleHandler struct {
	// Exec is the command the hook runs.
	Exec *ExecAction `json:"exec,omitempty" validate:"required"`
}

// StrategyType is how a revision change replaces instances.
type StrategyType string

// The rollout strategies.
const (
	RollingUpdate StrategyType = "RollingUpdate"
	Recreate      StrategyType = "Recreate"
)

// Strategy is the rollout strategy.
type Strategy struct {
	// Type is RollingUpdate (default: replace a few at a time) or
	// Recreate (stop all, then start the new ones).
	Type StrategyType `json:"type,omitempty" validate:"omitempty,oneof=RollingUpdate Recreate"`
	// RollingUpdate bounds a rolling update; not with type Recreate.
	RollingUpdate *RollingUpdateParams `json:"rollingUpdate,omitempty"`
}

// RollingUpdateParams bound a rolling update; integers or percentages.
type RollingUpdateParams struct {
	// MaxSurge is how many instances may run above replicas during a
	// rollout: an integer or a percentage (default "25%", rounded up).
	MaxSurge *IntOrString `json:"maxSurge,omitempty" validate:"omitempty,intorpercent"`
	// MaxUnavailable is how many of replicas may be unavailable during a
	// rollout: an integer or a percentage up to "100%" (default "25%",
	// rounded down). Not 0 when maxSurge is 0.
	MaxUnavailable *IntOrString `json:"maxUnavailable,omitempty" validate:"omitempty,intorpercent"`
}

// LogSpec is the rotation policy of an instance's output files.
type LogSpec struct {
	// MaxSize is the size at which a log file is rotated, a quantity of
	// at least 1Ki (default 10Mi).
	MaxSize Quantity `json:"maxSize,omitempty" validate:"omitempty,quantity"`
	// MaxFiles is the rotated files kept per stream (default 5).
	MaxFiles *int32 `json:"maxFiles,omitempty" validate:"omitempty,min=1"`
}

// Dependency makes an app wait for another.
type Dependency struct {
	// App is the name of the app depended on; an app not defined is
	// waited for.
	App string `json:"app" validate:"required,dns1123label"`
	// Condition is what it must reach: Ready (default) or Started for an
	// app's instances, Complete for a job's current revision.
	Condition DependencyCondition `json:"condition,omitempty" validate:"omitempty,oneof=Ready Started Complete"`
}

// DependencyCondition is what a dependency must reach.
type DependencyCondition string

// The dependency conditions.
const (
	DependencyReady   DependencyCondition = "Ready"
	DependencyStarted DependencyCondition = "Started"
	// DependencyComplete: the Job's current revision ran to completion.
	DependencyComplete DependencyCondition = "Complete"
)

// InitCommand is a step run to completion before each start of an App's
// instance, in order (Kubernetes' initContainers).
type InitCommand struct {
	// Name names the step (a DNS-1123 label, unique in the app): its logs
	// are `proclet logs APP/INSTANCE --init NAME`.
	Name string `json:"name" validate:"required,dns1123label"`
	// Command is the program and its arguments, run without a shell;
	// $(VAR) references expand as in the app's command.
	Command []string `json:"command" validate:"required,min=1,dive,nonul"`
	// Env are variables added to the instance's environment for this
	// step, in order.
	Env []EnvVar `json:"env,omitempty" validate:"dive"`
	// WorkingDir is the step's working directory (default: the
	// instance's).
	WorkingDir string `json:"workingDir,omitempty" validate:"nonul"`
	// TimeoutSeconds bounds the step (default: no bound); past it the
	// step is killed and counts as failed.
	TimeoutSeconds *int64 `json:"timeoutSeconds,omitempty" validate:"omitempty,min=1"`
}
