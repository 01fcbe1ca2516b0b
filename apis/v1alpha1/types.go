package v1alpha1

import (
	"time"
)

// GroupVersion and Kind are the only apiVersion and kind of v1alpha1.
const (
	GroupVersion = "proclet.dev/v1alpha1"
	KindApp      = "App"
)

// App is one object of a manifest: a set of identical OS processes.
//
// Pointer fields distinguish "unset" from an explicit zero (replicas: 0,
// terminationGracePeriodSeconds: 0). After Default every pointer that has a
// default is non-nil, so consumers of a defaulted App never nil-check them.
type App struct {
	APIVersion string     `json:"apiVersion" validate:"required,eq=proclet.dev/v1alpha1"`
	Kind       string     `json:"kind" validate:"required,eq=App"`
	Metadata   ObjectMeta `json:"metadata"`
	Spec       AppSpec    `json:"spec"`
	// Status is the daemon's to report. In a file it is accepted and dropped.
	Status *AppStatus `json:"status,omitempty" validate:"-"`
}

// ObjectMeta is the Kubernetes-shaped metadata of an App.
type ObjectMeta struct {
	Name        string            `json:"name" validate:"required,dns1123label"`
	Labels      map[string]string `json:"labels,omitempty" validate:"dive,keys,labelkey,endkeys,labelvalue"`
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
	Replicas                      *int32            `json:"replicas,omitempty" validate:"omitempty,min=0,max=1000"`
	Command                       []string          `json:"command" validate:"required,min=1,dive,nonul"`
	WorkingDir                    string            `json:"workingDir,omitempty" validate:"nonul"`
	User                          string            `json:"user,omitempty" validate:"nonul"`
	Env                           []EnvVar          `json:"env,omitempty" validate:"dive"`
	EnvFrom                       []EnvFromSource   `json:"envFrom,omitempty" validate:"dive"`
	RolloutOnChange               *RolloutOnChange  `json:"rolloutOnChange,omitempty"`
	Ports                         []PortSpec        `json:"ports,omitempty" validate:"dive"`
	Sockets                       []SocketSpec      `json:"sockets,omitempty" validate:"dive"` // sockets.go
	RestartPolicy                 RestartPolicy     `json:"restartPolicy,omitempty" validate:"omitempty,oneof=Always OnFailure Never"`
	RestartBackoff                *BackoffSpec      `json:"restartBackoff,omitempty"`
	StartupProbe                  *Probe            `json:"startupProbe,omitempty"`
	ReadinessProbe                *Probe            `json:"readinessProbe,omitempty"`
	LivenessProbe                 *Probe            `json:"livenessProbe,omitempty"`
	Resources                     Resources         `json:"resources,omitempty"`
	TerminationGracePeriodSeconds *int64            `json:"terminationGracePeriodSeconds,omitempty" validate:"omitempty,min=0"`
	StopSignal                    string            `json:"stopSignal,omitempty" validate:"omitempty,signal"`
	Lifecycle                     *Lifecycle        `json:"lifecycle,omitempty"`
	Strategy                      Strategy          `json:"strategy,omitempty"`
	MinReadySeconds               int32             `json:"minReadySeconds,omitempty" validate:"min=0"`
	ProgressDeadlineSeconds       *int32            `json:"progressDeadlineSeconds,omitempty" validate:"omitempty,min=1"`
	Logs                          LogSpec           `json:"logs,omitempty"`
	DependsOn                     []Dependency      `json:"dependsOn,omitempty" validate:"dive"`
	NodeSelector                  map[string]string `json:"nodeSelector,omitempty" validate:"dive,keys,labelkey,endkeys,labelvalue"`
}

// EnvVar is one environment variable; Value may use $(VAR) references.
// ValueFrom reads the value from a file instead (content.go).
type EnvVar struct {
	Name      string        `json:"name" validate:"required,envname"`
	Value     string        `json:"value" validate:"nonul"`
	ValueFrom *EnvVarSource `json:"valueFrom,omitempty"`
}

// PortSpec names a port: either a fixed Port or a Range "LOW-HIGH".
type PortSpec struct {
	Name  string `json:"name" validate:"required,portname"`
	Port  int32  `json:"port,omitempty" validate:"omitempty,min=1,max=65535"`
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
	Initial    *Duration `json:"initial,omitempty" validate:"omitempty,gt=0"`
	Max        *Duration `json:"max,omitempty" validate:"omitempty,gt=0"`
	ResetAfter *Duration `json:"resetAfter,omitempty" validate:"omitempty,gt=0"`
}

// Probe is a Kubernetes probe: exactly one handler plus timing.
type Probe struct {
	ProbeHandler
	InitialDelaySeconds int32 `json:"initialDelaySeconds,omitempty" validate:"min=0"`
	PeriodSeconds       int32 `json:"periodSeconds,omitempty" validate:"omitempty,min=1"`
	TimeoutSeconds      int32 `json:"timeoutSeconds,omitempty" validate:"omitempty,min=1"`
	SuccessThreshold    int32 `json:"successThreshold,omitempty" validate:"omitempty,min=1"`
	FailureThreshold    int32 `json:"failureThreshold,omitempty" validate:"omitempty,min=1"`
}

// ProbeHandler holds exactly one of its fields.
type ProbeHandler struct {
	Exec      *ExecAction      `json:"exec,omitempty"`
	HTTPGet   *HTTPGetAction   `json:"httpGet,omitempty"`
	TCPSocket *TCPSocketAction `json:"tcpSocket,omitempty"`
	Notify    *NotifyAction    `json:"notify,omitempty"`
}

// ExecAction runs a command; exit 0 is success.
type ExecAction struct {
	Command []string `json:"command" validate:"required,min=1,dive,nonul"`
}

// HTTPGetAction is an HTTP GET against the instance; 200-399 is success.
type HTTPGetAction struct {
	Path        string       `json:"path,omitempty" validate:"omitempty,httppath"`
	Port        IntOrString  `json:"port" validate:"probeport"`
	Host        string       `json:"host,omitempty" validate:"omitempty,hostname_rfc1123|ip"`
	Scheme      string       `json:"scheme,omitempty" validate:"omitempty,oneof=HTTP HTTPS"`
	HTTPHeaders []HTTPHeader `json:"httpHeaders,omitempty" validate:"dive"`
}

// HTTPHeader is one header sent by an HTTP probe.
type HTTPHeader struct {
	Name  string `json:"name" validate:"required,headername"`
	Value string `json:"value" validate:"headervalue"`
}

// TCPSocketAction succeeds when a TCP connection opens.
type TCPSocketAction struct {
	Port IntOrString `json:"port" validate:"probeport"`
	Host string      `json:"host,omitempty" validate:"omitempty,hostname_rfc1123|ip"`
}

// Resources holds the limits of each instance.
type Resources struct {
	Limits ResourceLimits `json:"limits,omitempty"`
}

// ResourceLimits are per-instance limits. Memory and CPU are Kubernetes
// quantities ("256Mi", "500m").
type ResourceLimits struct {
	Memory    Quantity `json:"memory,omitempty" validate:"omitempty,quantity"`
	CPU       Quantity `json:"cpu,omitempty" validate:"omitempty,quantity"`
	OpenFiles *int64   `json:"openFiles,omitempty" validate:"omitempty,min=1"`
}

// Lifecycle holds hooks run around an instance's life.
type Lifecycle struct {
	PreStop *LifecycleHandler `json:"preStop,omitempty"`
}

// LifecycleHandler is the action of a hook.
type LifecycleHandler struct {
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
	Type          StrategyType         `json:"type,omitempty" validate:"omitempty,oneof=RollingUpdate Recreate"`
	RollingUpdate *RollingUpdateParams `json:"rollingUpdate,omitempty"`
}

// RollingUpdateParams bound a rolling update; integers or percentages.
type RollingUpdateParams struct {
	MaxSurge       *IntOrString `json:"maxSurge,omitempty" validate:"omitempty,intorpercent"`
	MaxUnavailable *IntOrString `json:"maxUnavailable,omitempty" validate:"omitempty,intorpercent"`
}

// LogSpec is the rotation policy of an instance's output files.
type LogSpec struct {
	MaxSize  Quantity `json:"maxSize,omitempty" validate:"omitempty,quantity"`
	MaxFiles *int32   `json:"maxFiles,omitempty" validate:"omitempty,min=1"`
}

// Dependency makes an app wait for another.
type Dependency struct {
	App       string              `json:"app" validate:"required,dns1123label"`
	Condition DependencyCondition `json:"condition,omitempty" validate:"omitempty,oneof=Ready Started"`
}

// DependencyCondition is what a dependency must reach.
type DependencyCondition string

// The dependency conditions.
const (
	DependencyReady   DependencyCondition = "Ready"
	DependencyStarted DependencyCondition = "Started"
)

// AppStatus is what the daemon reports about an App.
type AppStatus struct {
	Replicas           int32       `json:"replicas"`
	ReadyReplicas      int32       `json:"readyReplicas"`
	UpdatedReplicas    int32       `json:"updatedReplicas"`
	AvailableReplicas  int32       `json:"availableReplicas"`
	Revision           string      `json:"revision"`
	ObservedGeneration int64       `json:"observedGeneration"`
	Conditions         []Condition `json:"conditions"`
	Source             string      `json:"source"`
	// SourceRevision is the name of the symlink target the source was read
	// through when it looks like a commit (git-sync), else empty.
	SourceRevision string `json:"sourceRevision,omitempty"`
	// Files are the files the running revision was made from besides the
	// manifest (envFrom, valueFrom, rolloutOnChange): the field, the path
	// and a short digest of what it held, never the content.
	Files []ContentSource `json:"files,omitempty"`
}

// Condition types of an App.
const (
	ConditionAvailable     = "Available"
	ConditionProgressing   = "Progressing"
	ConditionManifestValid = "ManifestValid"
)

// ConditionStatus is True, False or Unknown.
type ConditionStatus string

// The condition statuses.
const (
	ConditionTrue    ConditionStatus = "True"
	ConditionFalse   ConditionStatus = "False"
	ConditionUnknown ConditionStatus = "Unknown"
)

// Condition is a Kubernetes-style condition.
type Condition struct {
	Type               string          `json:"type"`
	Status             ConditionStatus `json:"status"`
	Reason             string          `json:"reason,omitempty"`
	Message            string          `json:"message,omitempty"`
	LastTransitionTime time.Time       `json:"lastTransitionTime"`
}

// InstancePhase is where an instance is in its life; see doc.go.
type InstancePhase string

// The instance phases.
const (
	PhasePending     InstancePhase = "Pending"
	PhaseStarting    InstancePhase = "Starting"
	PhaseRunning     InstancePhase = "Running"
	PhaseTerminating InstancePhase = "Terminating"
	PhaseSucceeded   InstancePhase = "Succeeded"
	PhaseFailed      InstancePhase = "Failed"
)

// Instance is the API shape of one instance of an App.
type Instance struct {
	Name        string           `json:"name"`
	App         string           `json:"app"`
	UID         string           `json:"uid"`
	Revision    string           `json:"revision"`
	Phase       InstancePhase    `json:"phase"`
	Reason      string           `json:"reason,omitempty"`
	Message     string           `json:"message,omitempty"`
	Ready       bool             `json:"ready"`
	PID         int              `json:"pid"`
	Ports       map[string]int32 `json:"ports"`
	Listening   []int32          `json:"listening"`
	Restarts    int32            `json:"restarts"`
	StartedAt   *time.Time       `json:"startedAt"`
	NextStartAt *time.Time       `json:"nextStartAt"`
	LastExit    *ExitStatus      `json:"lastExit"`
	CPUPercent  float64          `json:"cpuPercent"`
	MemoryBytes uint64           `json:"memoryBytes"`
	// CPUSeconds is the CPU time (user+system) of the process tree so far.
	CPUSeconds float64 `json:"cpuSeconds"`
}

// ExitStatus is how a process ended. Signal is empty unless a signal killed
// it; Reason is Completed, Error, Stopped, StartFailed, Unknown, or the
// reason proclet stopped it for (LivenessProbeFailed, MemoryLimitExceeded...).
type ExitStatus struct {
	Code   int       `json:"code"`
	Signal string    `json:"signal,omitempty"`
	Reason string    `json:"reason"`
	At     time.Time `json:"at"`
}
