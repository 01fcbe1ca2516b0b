package v1alpha1

import (
	"time"
)

// AppStatus is what the daemon reports about an App.
type AppStatus struct {
	// State is AppNotScheduled when the app's nodeSelector does not match
	// this node's labels (nothing of it runs here), else empty.
	State              AppState    `json:"state,omitempty"`
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
	// ConditionScheduled is set, False with reason NotScheduled, on an
	// app whose nodeSelector does not match this node's labels.
	ConditionScheduled = "Scheduled"
)

// AppState is the state of an App on this node beyond its conditions.
type AppState string

// The app states.
const (
	// AppNotScheduled: the nodeSelector does not match this node's
	// labels; the app is listed, and nothing of it runs here.
	AppNotScheduled AppState = "NotScheduled"
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
