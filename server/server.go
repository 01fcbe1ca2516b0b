package server

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"regexp"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/gorilla/mux"
	"github.com/prometheus/client_golang/prometheus"

	"proclet.dev/proclet/server/ui"
)

// DefaultMaxStreams is the default cap on concurrent log follows and watch
// clients together.
const DefaultMaxStreams = 64

// MaxLogReads caps the log reads without follow at once (each holds the
// files of one log open while it sends them).
const MaxLogReads = 32

// Options configure a Server.
type Options struct {
	// Status is the reconciler's state, read-only.
	Status StatusReader
	// Log is the server's logger; nil discards.
	Log *slog.Logger
	// Version is the daemon's version, shown by /api/v1/system.
	Version string
	// Revision is the VCS revision the daemon was built from
	// (proclet_build_info).
	Revision string
	// LogPath returns the path of an instance's output file for stream
	// "stdout" or "stderr"; rotated files are that path plus ".1", ".2"...
	// Nil: every log answer is empty.
	LogPath func(app, instance, stream string) string
	// LogSweep, when not nil, deletes the log files of instances that are
	// gone (logs_retention.go); Run calls it now and then.
	LogSweep *LogSweep
	// APIKeys, when not empty, are the keys every endpoint but /healthz,
	// /readyz (and /metrics with MetricsPublic) requires.
	APIKeys []string
	// Metrics serves GET /metrics; nil: no such route.
	Metrics http.Handler
	// MetricsPublic exempts /metrics from the API keys.
	MetricsPublic bool
	// CORSOrigin, when set, is the one origin ("https://dash.example")
	// allowed to read the API from a browser. Empty: no CORS headers.
	CORSOrigin string
	// AdvertiseHost is the host put in the /api/v1/targets addresses
	// ("host" or "host:port", whose port is ignored); default 127.0.0.1.
	AdvertiseHost string
	// MaxStreams caps concurrent log follows and watch clients together;
	// 0 means DefaultMaxStreams.
	MaxStreams int
	// AllowedHosts are names, beyond localhost and the IP addresses, that
	// a request's Host header may give (a reverse proxy's). On a loopback
	// listener every other Host is refused; beyond loopback, Hosts are
	// checked only when AllowedHosts is not empty.
	AllowedHosts []string
	// MaxConnections caps the open API connections (0:
	// DefaultMaxConnections of the process's RLIMIT_NOFILE);
	// MaxConnectionsPerClient caps those of one client address (0:
	// DefaultMaxConnectionsPerClient). See connLimiter.
	MaxConnections, MaxConnectionsPerClient int
	// TLS, when set, makes Run serve HTTPS (CertReloader.TLSConfig).
	TLS *tls.Config
	// Node, when set, is this daemon's identity: GET /api/v1/node, the
	// node label of /api/v1/targets, proclet_node_info and
	// proclet_manifests_source_revision_info (node.go).
	Node *NodeOptions
	// Registerer, when set, gets the connection metrics
	// (proclet_api_connections...).
	Registerer prometheus.Registerer
	// FreshUsage, when set, is called before the answers that show the
	// instances' CPU and memory (/metrics, /api/v1/instances and
	// /api/v1/apps/{app}/instances) are read: the runtime samples then the
	// instances whose sample is older than its sampling interval (a few
	// milliseconds at 1000 instances; concurrent reads share one pass).
	FreshUsage func()
}

// timeouts are the HTTP server's; tests shorten them.
type timeouts struct {
	readHeader, read, write, idle time.Duration
	// streamWrite bounds each write of a stream (log follow, watch), whose
	// overall write deadline is cleared.
	streamWrite time.Duration
	// ping is the WebSocket keepalive period; pong, how long a ping may
	// wait for its answer.
	ping, pong time.Duration
	// poll is how often a log follow looks for new output and rotation.
	poll time.Duration
	// shutdown bounds the graceful shutdown of Run.
	shutdown time.Duration
}

var defaultTimeouts = timeouts{
	readHeader:  5 * time.Second,
	read:        30 * time.Second,
	write:       30 * time.Second,
	idle:        120 * time.Second,
	streamWrite: 10 * time.Second,
	ping:        30 * time.Second,
	pong:        10 * time.Second,
	poll:        250 * time.Millisecond,
	shutdown:    5 * time.Second,
}

// closeHandshakeWait is how long coder/websocket's Close waits for the
// peer's answer at most.
const closeHandshakeWait = 5 * time.Second

// maxHeaderBytes bounds request headers.
const maxHeaderBytes = 64 << 10

// Server is the HTTP API. Build it with New, serve it with Run or use it
// as an http.Handler.
type Server struct {
	status     StatusReader
	log        *slog.Logger
	version    string
	logPath    func(app, instance, stream string) string
	sweep      *LogSweep
	keys       keyring
	metricsPub bool
	corsOrigin string
	advertise  string
	tls        *tls.Config
	node       *NodeOptions
	streams    *limiter
	logReads   *limiter
	// allowedHosts are Options.AllowedHosts; hosts, the policy serve
	// builds from them and its listener (nil: no Host check).
	allowedHosts []string
	hosts        atomic.Pointer[hostPolicy]
	// maxConns and maxPerClient are the connection caps.
	maxConns, maxPerClient int
	conns                  connStats
	t                      timeouts
	router                 *mux.Router
	handler                http.Handler // router wrapped in the outer middleware
	// listBuffer is the buffer the last instance list was written into,
	// for the next (writeInstances).
	listBuffer atomic.Pointer[[]byte]
	// fresh is Options.FreshUsage, or a no-op.
	fresh func()
}

// New builds the server and its routes.
func New(opts Options) *Server {
	s := &Server{
		status:     opts.Status,
		log:        opts.Log,
		version:    opts.Version,
		logPath:    opts.LogPath,
		sweep:      opts.LogSweep,
		keys:       newKeyring(opts.APIKeys),
		metricsPub: opts.MetricsPublic,
		corsOrigin: opts.CORSOrigin,
		advertise:  advertiseHost(opts.AdvertiseHost),
		tls:        opts.TLS,
		node:       opts.Node,
		streams:    newLimiter(opts.MaxStreams),
		logReads:   newLimiter(MaxLogReads),
		t:          defaultTimeouts,

		allowedHosts: opts.AllowedHosts,
		maxConns:     opts.MaxConnections,
		maxPerClient: opts.MaxConnectionsPerClient,
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.maxConns <= 0 {
		s.maxConns = DefaultMaxConnections(nofileLimit())
	}
	if s.maxPerClient <= 0 {
		s.maxPerClient = DefaultMaxConnectionsPerClient
	}
	if opts.Registerer != nil {
		s.registerConnMetrics(opts.Registerer)
		registerBuildInfo(opts.Registerer, opts.Version, opts.Revision)
		if s.node != nil {
			opts.Registerer.MustRegister(&nodeCollector{s: s})
		}
	}
	if s.logPath == nil {
		s.logPath = func(string, string, string) string { return "" }
	}
	s.fresh = opts.FreshUsage
	if s.fresh == nil {
		s.fresh = func() {}
	}
	s.router = mux.NewRouter()
	s.registerRoutes(s.router, opts.Metrics)
	// Outside the router, so that they also apply to 401, 404 and 405;
	// the Host check first, so that a refused Host learns nothing else.
	s.handler = s.securityHeaders(s.checkHost(s.cors(s.authenticate(s.router))))
	return s
}

// dns1123 is an app or instance name: a path parameter is checked against
// it before it is used for anything.
var dns1123 = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$`)

// registerRoutes lists every route in one place. (No subrouters: gorilla
// mux answers 404 instead of 405 for a method mismatch inside one.)
func (s *Server) registerRoutes(r *mux.Router, metrics http.Handler) {
	get := []string{http.MethodGet, http.MethodHead}
	r.HandleFunc("/healthz", s.healthz).Methods(get...)
	r.HandleFunc("/readyz", s.readyz).Methods(get...)
	if metrics != nil {
		r.Handle("/metrics", s.withFreshUsage(metrics)).Methods(get...)
	}
	r.HandleFunc("/api/v1/apps", s.listApps).Methods(get...)
	r.HandleFunc("/api/v1/apps/{app}", s.getApp).Methods(get...)
	r.Handle("/api/v1/apps/{app}/instances", s.withFreshUsage(http.HandlerFunc(s.listAppInstances))).Methods(get...)
	r.HandleFunc("/api/v1/apps/{app}/instances/{instance}/logs", s.logs).Methods(get...)
	r.Handle("/api/v1/instances", s.withFreshUsage(http.HandlerFunc(s.listInstances))).Methods(get...)
	s.registerJobRoutes(r, get) // jobs.go
	r.HandleFunc("/api/v1/manifests", s.manifests).Methods(get...)
	r.HandleFunc("/api/v1/events", s.events).Methods(get...)
	r.HandleFunc("/api/v1/system", s.system).Methods(get...)
	r.HandleFunc("/api/v1/watch", s.watch).Methods(get...)
	r.HandleFunc("/api/v1/targets", s.targets).Methods(get...)
	r.HandleFunc("/api/v1/node", s.nodeInfo).Methods(get...)
	page := ui.Handler() // the web page at / and its assets under /ui/
	for _, p := range ui.Paths() {
		r.Handle(p, page).Methods(get...)
	}
	r.Use(s.validNames)
	r.MethodNotAllowedHandler = http.HandlerFunc(s.methodNotAllowed)
	r.NotFoundHandler = http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		s.writeError(w, req, notFound("no such path: %s", req.URL.Path))
	})
}

// ServeHTTP makes the Server an http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

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

// Run serves on addr until ctx ends, then shuts down gracefully and waits
// for the streams to end. ready, if not nil, receives the bound address
// once listening. A Server runs once: after Run it refuses streams.
func (s *Server) Run(ctx context.Context, addr string, ready func(net.Addr)) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", addr, err)
	}
	if ready != nil {
		ready(ln.Addr())
	}
	if s.sweep != nil {
		go s.sweepLogs(ctx)
	}
	return s.serve(ctx, ln)
}

// Advertise sets the host:port others reach the server at: the host of
// /api/v1/targets' addresses and /api/v1/node's advertiseAddress. Call it
// before Run serves (from its ready callback, once the port is known).
func (s *Server) Advertise(hostPort string) {
	s.advertise = advertiseHost(hostPort)
	if s.node != nil {
		s.node.AdvertiseAddress = hostPort
	}
}

// nofileLimit is the process's soft RLIMIT_NOFILE (which Go raises to the
// hard limit at start), 1024 if unknown.
func nofileLimit() uint64 {
	var l syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &l); err != nil {
		return 1024
	}
	return l.Cur
}

// isLoopbackAddr reports whether a listener's address is a loopback one
// (127.0.0.0/8, ::1): only local clients can reach it.
func isLoopbackAddr(a net.Addr) bool {
	ta, ok := a.(*net.TCPAddr)
	return ok && ta.IP.IsLoopback()
}

// serve serves on ln until ctx ends. Streams (log follows, watches) end
// with ctx too: they watch the base context.
func (s *Server) serve(ctx context.Context, ln net.Listener) error {
	s.hosts.Store(newHostPolicy(isLoopbackAddr(ln.Addr()), s.allowedHosts))
	limited := newConnLimiter(ln, s.maxConns, s.maxPerClient, s.log, &s.conns)
	ln = limited
	if s.tls != nil {
		ln = tls.NewListener(ln, s.tls)
	}
	srv := &http.Server{
		ConnState:         limited.connState,
		Handler:           s,
		ReadHeaderTimeout: s.t.readHeader,
		ReadTimeout:       s.t.read,
		WriteTimeout:      s.t.write, // streams clear theirs with http.ResponseController
		IdleTimeout:       s.t.idle,
		MaxHeaderBytes:    maxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
		BaseContext:       func(net.Listener) context.Context { return ctx },
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serve %s: %w", ln.Addr(), err)
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), s.t.shutdown)
	defer cancel()
	err := srv.Shutdown(shutdownCtx)
	if errors.Is(err, context.DeadlineExceeded) {
		err = srv.Close()
	}
	if serr := <-errc; !errors.Is(serr, http.ErrServerClosed) && err == nil {
		err = serr
	}
	// Hijacked WebSockets are not Shutdown's to wait for: wait for every
	// stream here (they end with ctx; a watch client that does not answer
	// the close frame holds its stream up to closeHandshakeWait).
	if !s.streams.drain(s.t.shutdown+closeHandshakeWait) && err == nil {
		err = errors.New("streams still running after shutdown")
	}
	return err
}
