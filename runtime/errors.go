package runtime

import "errors"

// ErrNotFound is returned for a uid the runtime holds no handle for.
var ErrNotFound = errors.New("instance not found")
