package runtime

import "errors"

// ErrNotFound is returned for a uid the runtime holds no handle for.
var ErrNotFound = errors.New("instance not found")

// ErrClosed is returned by Start (and Stop after Detach) once the runtime
// is shutting down: StopAll or Detach was called.
var ErrClosed = errors.New("runtime is shutting down")
