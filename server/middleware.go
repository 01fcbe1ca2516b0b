package server

import (
	"fmt"
	"net/http"

	"github.com/gorilla/mux"
)

// securityHeaders sets the headers of every answer, errors included:
// nothing the API says may be sniffed into something else or cached.
func (s *Server) securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Header().Set("Cache-Control", "no-store")
		next.ServeHTTP(w, r)
	})
}

// cors does nothing unless an origin is configured. Then every answer
// names that origin (never a reflected one), and an OPTIONS preflight is
// answered here, before authentication: browsers send no credentials in a
// preflight.
func (s *Server) cors(next http.Handler) http.Handler {
	if s.corsOrigin == "" {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Access-Control-Allow-Origin", s.corsOrigin)
		h.Add("Vary", "Origin")
		if r.Method == http.MethodOptions {
			h.Set("Access-Control-Allow-Methods", "GET, HEAD")
			h.Set("Access-Control-Allow-Headers", "Authorization, X-API-Key")
			h.Set("Access-Control-Max-Age", "600")
			w.WriteHeader(http.StatusNoContent)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// allowed is the Allow header of every route: the API is read-only.
func (s *Server) allowed() string {
	if s.corsOrigin != "" {
		return "GET, HEAD, OPTIONS"
	}
	return "GET, HEAD"
}

// methodNotAllowed answers 405 with the Allow header.
func (s *Server) methodNotAllowed(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Allow", s.allowed())
	s.writeError(w, r, &apiError{status: http.StatusMethodNotAllowed, code: "MethodNotAllowed",
		message: fmt.Sprintf("%s is not allowed: the API is read-only", r.Method)})
}

// validNames refuses path parameters that are not DNS-1123 names before
// any handler sees them (they become parts of file paths).
func (s *Server) validNames(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for k, v := range mux.Vars(r) {
			if !dns1123.MatchString(v) {
				s.writeError(w, r, badRequest("%s %q is not a valid name", k, v))
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}
