package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"
)

// inherited returns the listening socket called name that the daemon
// passed with systemd's protocol (LISTEN_PID is our PID, LISTEN_FDS
// sockets from fd 3, LISTEN_FDNAMES their names); "-" is the first.
func inherited(name string) (net.Listener, error) {
	if os.Getenv("LISTEN_PID") != strconv.Itoa(os.Getpid()) {
		return nil, fmt.Errorf("no inherited sockets: LISTEN_PID=%q, our pid is %d", os.Getenv("LISTEN_PID"), os.Getpid())
	}
	n, err := strconv.Atoi(os.Getenv("LISTEN_FDS"))
	if err != nil || n < 1 {
		return nil, fmt.Errorf("no inherited sockets: LISTEN_FDS=%q", os.Getenv("LISTEN_FDS"))
	}
	names := strings.Split(os.Getenv("LISTEN_FDNAMES"), ":")
	for i := range n {
		if name != "-" && (i >= len(names) || names[i] != name) {
			continue
		}
		f := os.NewFile(uintptr(3+i), "listen-fd")
		defer f.Close() // the listener holds a dup
		return net.FileListener(f)
	}
	return nil, fmt.Errorf("no inherited socket named %q in LISTEN_FDNAMES=%q", name, os.Getenv("LISTEN_FDNAMES"))
}

// serveInherited serves mux on the inherited socket name until stop is
// closed, then stops accepting (closing only our copy: the socket stays
// with the other replicas) and finishes the requests in flight.
func serveInherited(name string, mux http.Handler, stop <-chan struct{}, done chan<- struct{}) {
	defer close(done)
	l, err := inherited(name)
	if err != nil {
		fmt.Fprintln(os.Stderr, "serve:", err)
		os.Exit(1)
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-stop
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		srv.Shutdown(ctx) //nolint:errcheck // exiting anyway
	}()
	if err := srv.Serve(l); err != nil && err != http.ErrServerClosed {
		fmt.Fprintln(os.Stderr, "serve:", err)
		os.Exit(1)
	}
}
