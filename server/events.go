package server

import (
	"net/http"
	"strconv"

	"proclet.dev/proclet/apis/v1alpha1"
)

// Bounds of GET /api/v1/events?limit=N.
const (
	defaultEventLimit = 100
	maxEventLimit     = 1000
)

// events serves GET /api/v1/events?app=NAME&limit=N: newest first, of one
// app when app is given (an app gone since still has its events), at most
// limit (1 to 1000, default 100).
func (s *Server) events(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	app := q.Get("app")
	if app != "" && !dns1123.MatchString(app) {
		s.writeError(w, r, badRequest("app %q is not a valid name", app))
		return
	}
	limit := defaultEventLimit
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxEventLimit {
			s.writeError(w, r, badRequest("limit %q is not a number from 1 to %d", v, maxEventLimit))
			return
		}
		limit = n
	}
	writeJSON(w, http.StatusOK, list[v1alpha1.Event]{Items: nonNil(s.status.Events(app, limit))})
}

// manifests serves GET /api/v1/manifests: every file read, the apps it
// defines and what is wrong with it (null when nothing).
func (s *Server) manifests(w http.ResponseWriter, r *http.Request) {
	files := nonNil(s.status.Manifests())
	for i := range files {
		files[i].Objects = nonNil(files[i].Objects)
	}
	writeJSON(w, http.StatusOK, list[v1alpha1.FileStatus]{Items: files})
}
