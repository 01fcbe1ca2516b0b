package v1alpha1

import "time"

// Event is one thing that happened, for people: a start, an exit, a stop,
// a backoff, a manifest error. It is the shape of GET /api/v1/events.
type Event struct {
	Time    time.Time `json:"time"`
	Type    string    `json:"type"` // Normal or Warning
	Reason  string    `json:"reason"`
	Object  string    `json:"object"` // "web", "web-1", or a file path
	App     string    `json:"app,omitempty"`
	Message string    `json:"message"`
}

// Watch event types, as Kubernetes names them.
const (
	WatchAdded    = "ADDED"
	WatchModified = "MODIFIED"
	WatchDeleted  = "DELETED"
)

// WatchEvent is one change of an app or an instance, as GET /api/v1/watch
// sends it. Object is an App or an Instance (a copy the receiver may keep).
type WatchEvent struct {
	Type   string `json:"type"`
	Kind   string `json:"kind"` // "App" or "Instance"
	Object any    `json:"object"`
}
