package main

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
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
// closed, then drains: it stops accepting (closing only its copy: the
// socket and the connections queued on it stay with the other replicas),
// and finishes every connection it accepted before it returns.
//
// Not http.Server.Shutdown: a request read after Shutdown began is
// dropped without a response (net/http returns from the connection as
// soon as it sees the server shutting down), which a client of a shared
// socket sees as an EOF.
func serveInherited(name string, mux http.Handler, stop <-chan struct{}, done chan<- struct{}) {
	l, err := inherited(name)
	if err != nil {
		fmt.Fprintln(os.Stderr, "serve:", err)
		os.Exit(1)
	}
	var open atomic.Int64 // connections accepted and not yet closed
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second,
		ConnState: func(_ net.Conn, st http.ConnState) {
			switch st {
			case http.StateNew:
				open.Add(1)
			case http.StateClosed, http.StateHijacked:
				open.Add(-1)
			}
		}}
	served := make(chan struct{})
	go func() {
		defer close(served)
		srv.Serve(l) //nolint:errcheck // ends with the listener's close
	}()
	<-stop
	srv.SetKeepAlivesEnabled(false) // each connection ends after its request
	l.Close()
	<-served // every accepted connection is counted by now
	for deadline := time.Now().Add(10 * time.Second); open.Load() > 0 && time.Now().Before(deadline); {
		time.Sleep(5 * time.Millisecond) // polling the count; nothing to wait on
	}
	close(done)
}
