package runtime

import "errors"

// ErrNotFound is returned for a uid the runtime holds no handle for.
var ErrNotFound = errors.New("instance not found")

// ErrClosed is returned by Start (and Stop after Detach) once the runtime
// is shutting down: StopAll or Detach was called.
var ErrClosed = errors.New("runtime is shutting down")

// PortInUseError says a fixed port of an instance is held by a process
// proclet does not manage, or that a range has no free port left. The
// instance waits (Pending, reason PortInUse) and is retried.
type PortInUseError struct {
	Port    int32  // the fixed port, or 0 for an exhausted range
	Name    string // the port's name in the spec
	Message string
}

func (e *PortInUseError) Error() string { return e.Message }
