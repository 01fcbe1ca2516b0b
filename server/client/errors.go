package client

import (
	"fmt"
	"net/http"
)

// UnreachableError says the daemon did not answer at all (connection
// refused, no such host, a timeout before any answer).
type UnreachableError struct {
	URL string // the server's base URL
	Err error  // the transport's error
}

func (e *UnreachableError) Error() string {
	return fmt.Sprintf("cannot reach proclet at %s: is the daemon running? (set --server or PROCLET_SERVER)", e.URL)
}

// Unwrap returns the transport's error.
func (e *UnreachableError) Unwrap() error { return e.Err }

// UnauthorizedError is a 401: no API key, or a key the daemon refused.
type UnauthorizedError struct {
	KeySent bool // whether PROCLET_API_KEY was set and sent
}

func (e *UnauthorizedError) Error() string {
	if e.KeySent {
		return "unauthorized: the daemon refused the key in PROCLET_API_KEY"
	}
	return "unauthorized: set PROCLET_API_KEY"
}

// APIError is an error answer of the API: its JSON message, or the status
// line and the start of the body when the body is not the API's JSON.
type APIError struct {
	Status  int    // the HTTP status code
	Code    string // the API's code ("NotFound"), empty when not JSON
	Message string
}

func (e *APIError) Error() string { return e.Message }

// IsNotFound reports whether err is a 404 from the API.
func IsNotFound(err error) bool {
	ae, ok := asAPIError(err)
	return ok && ae.Status == http.StatusNotFound
}
