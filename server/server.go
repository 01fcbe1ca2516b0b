package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"regexp"
	"strings"
	"time"

	"github.com/gorilla/mux"
)

// Options configure a Server.
type Options struct {
	Status StatusReader
	Log    *slog.Logger
}

// Server is the HTTP API. Build it with New, serve it with Run or use it
// as an http.Handler.
type Server struct {
	status StatusReader
	log    *slog.Logger
	router *mux.Router
}

// New builds the server and its routes.
func New(opts Options) *Server {
	s := &Server{status: opts.Status, log: opts.Log}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	s.router = mux.NewRouter()
	s.registerRoutes(s.router)
	return s
}

// dns1123 is an app or instance name: a path parameter is checked against
// it before it is used for anything.
var dns1123 = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$`)

// registerRoutes lists every route in one place. (No subrouters: gorilla
// mux answers 404 instead of 405 for a method mismatch inside one.)
func (s *Server) registerRoutes(r *mux.Router) {
	get := []string{http.MethodGet, http.MethodHead}
	r.HandleFunc("/healthz", s.healthz).Methods(get...)
	r.HandleFunc("/readyz", s.readyz).Methods(get...)
	r.HandleFunc("/api/v1/apps", s.listApps).Methods(get...)
	r.HandleFunc("/api/v1/apps/{app}", s.getApp).Methods(get...)
	r.HandleFunc("/api/v1/apps/{app}/instances", s.listAppInstances).Methods(get...)
	r.HandleFunc("/api/v1/instances", s.listInstances).Methods(get...)
	r.Use(s.apiHeaders, s.validNames)
	r.MethodNotAllowedHandler = http.HandlerFunc(s.methodNotAllowed)
	r.NotFoundHandler = http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		s.writeError(w, req, notFound("no such path: %s", req.URL.Path))
	})
}

// ServeHTTP makes the Server an http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.router.ServeHTTP(w, r) }

// healthz serves GET /healthz: 200 while the daemon runs.
func (s *Server) healthz(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = io.WriteString(w, "ok\n")
}

// readyz serves GET /readyz: 200 once the first full read of the manifests
// has been reconciled, 503 before.
func (s *Server) readyz(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	if !s.status.Ready() {
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = io.WriteString(w, "not ready: the manifests have not been reconciled yet\n")
		return
	}
	_, _ = io.WriteString(w, "ok\n")
}

// methodNotAllowed answers 405 with the Allow header: the API is read-only.
func (s *Server) methodNotAllowed(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Allow", "GET, HEAD")
	s.writeError(w, r, &apiError{status: http.StatusMethodNotAllowed, code: "MethodNotAllowed",
		message: fmt.Sprintf("%s is not allowed: the API is read-only", r.Method)})
}

// apiHeaders sets the headers of every API answer.
func (s *Server) apiHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Content-Type-Options", "nosniff")
		if strings.HasPrefix(r.URL.Path, "/api/") {
			w.Header().Set("Cache-Control", "no-store")
		}
		next.ServeHTTP(w, r)
	})
}

// validNames refuses path parameters that are not DNS-1123 names before
// any handler sees them.
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

// Run serves on addr until ctx ends, then shuts down gracefully. ready, if
// not nil, receives the bound address once listening.
func (s *Server) Run(ctx context.Context, addr string, ready func(net.Addr)) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", addr, err)
	}
	if ready != nil {
		ready(ln.Addr())
	}
	srv := &http.Server{
		Handler:           s,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second, // streams extend theirs with http.ResponseController
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serve %s: %w", addr, err)
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err = srv.Shutdown(shutdownCtx)
	if serr := <-errc; !errors.Is(serr, http.ErrServerClosed) && err == nil {
		err = serr
	}
	return err
}
