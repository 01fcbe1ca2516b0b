package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"time"

	"proclet.dev/proclet/server"
)

// serveDebug serves Go's profiler (net/http/pprof) on addr until ctx is
// done: `go tool pprof http://ADDR/debug/pprof/heap`. It is a separate
// listener from the API, off by default, and refused beyond loopback: a
// profile shows the daemon's memory, which may hold secrets (env values).
func serveDebug(ctx context.Context, addr string, log *slog.Logger) error {
	if !isLoopback(addr) {
		return fmt.Errorf("--debug-listen: %q is not a loopback address (127.0.0.1:PORT, [::1]:PORT or localhost:PORT)", addr)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("--debug-listen: %w", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	// A loopback listener is still readable by a DNS rebinding page.
	srv := &http.Server{Handler: server.LocalHostsOnly(mux), ReadHeaderTimeout: 5 * time.Second}
	log.Info("serving the profiler", "addr", ln.Addr().String())
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("--debug-listen: %w", err)
	}
	return nil
}
