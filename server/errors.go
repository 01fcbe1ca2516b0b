package server

import (
	"fmt"
	"net/http"
)

// apiError is an error with the HTTP status and code the API answers with.
type apiError struct {
	status  int
	code    string
	message string
}

func (e *apiError) Error() string { return e.message }

func notFound(format string, args ...any) *apiError {
	return &apiError{status: http.StatusNotFound, code: "NotFound", message: fmt.Sprintf(format, args...)}
}

func badRequest(format string, args ...any) *apiError {
	return &apiError{status: http.StatusBadRequest, code: "BadRequest", message: fmt.Sprintf(format, args...)}
}

// errUnauthorized says nothing about why: a wrong key and a missing one
// look the same.
var errUnauthorized = &apiError{status: http.StatusUnauthorized, code: "Unauthorized", message: "unauthorized"}

func tooManyStreams(limit int) *apiError {
	return &apiError{status: http.StatusTooManyRequests, code: "TooManyRequests",
		message: fmt.Sprintf("too many log follows and watches at once (limit %d); try again later", limit)}
}

func tooManyLogReads(limit int) *apiError {
	return &apiError{status: http.StatusTooManyRequests, code: "TooManyRequests",
		message: fmt.Sprintf("too many log reads at once (limit %d); try again later", limit)}
}

func upgradeRequired() *apiError {
	return &apiError{status: http.StatusUpgradeRequired, code: "UpgradeRequired",
		message: "this endpoint is a WebSocket: send an Upgrade: websocket request"}
}

// errorBody is the JSON shape of every error answer.
type errorBody struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// writeError answers with err: its own status and code for an *apiError,
// else 500 with a generic message (the detail goes to the log only).
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	ae, ok := err.(*apiError)
	if !ok {
		s.log.Error("request failed", "path", r.URL.Path, "err", err)
		ae = &apiError{status: http.StatusInternalServerError, code: "Internal", message: "internal error"}
	}
	var body errorBody
	body.Error.Code, body.Error.Message = ae.code, ae.message
	writeJSON(w, ae.status, body)
}
