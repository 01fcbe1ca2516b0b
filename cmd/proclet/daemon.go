package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"math"
	"net"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"proclet.dev/proclet/internal/boundedfile"
	"proclet.dev/proclet/reconciler"
	"proclet.dev/proclet/runtime/exec"
	"proclet.dev/proclet/runtime/logfile"
	"proclet.dev/proclet/server"
	"proclet.dev/proclet/watchers"
)

// daemonGCPercent is the daemon's GOGC when the environment sets none.
const daemonGCPercent = 50

// daemonConfig is the daemon's command line.
type daemonConfig struct {
	manifests  string
	stateDir   string
	listen     string
	resync     time.Duration
	logFormat  string
	logLevel   string
	onExit     string
	nodeLabels string
	stopWait   time.Duration
	// API security (see server.Options).
	apiKeyFile    string
	metricsPublic bool
	corsOrigin    string
	allowedHosts  stringList
	// maxConnections and maxPerClient cap the API's connections (0: the
	// defaults, see connectionCaps).
	maxConnections, maxPerClient int
	// sampleInterval is how often CPU, memory and ports are sampled (0: never).
	sampleInterval time.Duration
	// cgroupRoot is a delegated cgroup v2 folder for the instances' cgroups.
	cgroupRoot string
	// runDir is the output FIFOs' folder ("": a tmpfs one, else <state-dir>/run).
	runDir string
	// debugListen serves net/http/pprof when set (loopback only).
	debugListen string
	// logFileMode is the mode of the instances' log files.
	logFileMode os.FileMode
}

func parseDaemonFlags(args []string) (daemonConfig, error) {
	var c daemonConfig
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	fs.StringVar(&c.manifests, "manifests", "./manifests", "the manifests `directory` (may be a symlink, e.g. git-sync's)")
	fs.StringVar(&c.stateDir, "state-dir", "./.proclet", "`directory` for logs, run files and the lock")
	fs.StringVar(&c.listen, "listen", "127.0.0.1:9090", "`address` of the REST API")
	fs.DurationVar(&c.resync, "resync", 30*time.Second, "full rescan of the manifests directory every `interval`, as a safety net")
	fs.StringVar(&c.logFormat, "log-format", "text", "log format: text or json")
	fs.StringVar(&c.logLevel, "log-level", "info", "log level: debug, info, warn or error")
	fs.StringVar(&c.onExit, "on-exit", "stop", "what a stopping daemon does with the instances: stop or keep")
	fs.StringVar(&c.nodeLabels, "node-labels", "", "this host's labels `k=v,...`, matched against nodeSelector")
	fs.DurationVar(&c.stopWait, "shutdown-timeout", 0, "give up waiting for instances to stop after this long (0: the longest grace period plus 10s)")
	fs.DurationVar(&c.sampleInterval, "sample-interval", exec.DefaultSampleInterval, "sample the CPU, memory and listening ports of every instance's process tree every `interval` (0: never)")
	fs.StringVar(&c.cgroupRoot, "cgroup-root", "", "a cgroup v2 `directory` delegated to proclet: each instance gets a cgroup there with its memory and cpu limits (without it, memory limits are polled and cpu limits are not enforced)")
	fs.StringVar(&c.runDir, "run-dir", "", "`directory` of the instances' output FIFOs (default: a private folder on a tmpfs, /run/proclet/<key>, $XDG_RUNTIME_DIR/proclet/<key> or /dev/shm/proclet-<uid>-<key>, else <state-dir>/run)")
	fs.StringVar(&c.apiKeyFile, "api-key-file", "", "`file` of API keys, one per line; when given, every endpoint but /healthz and /readyz needs one")
	fs.StringVar(&c.debugListen, "debug-listen", "", "serve Go's profiler (/debug/pprof/) on this loopback `address`; off when empty")
	fs.BoolVar(&c.metricsPublic, "metrics-public", false, "serve /metrics without an API key")
	fs.StringVar(&c.corsOrigin, "cors-origin", "", "the one `origin` (https://host[:port]) allowed to read the API from a browser")
	fs.IntVar(&c.maxConnections, "max-connections", 0, "cap on open API connections (0: a quarter of RLIMIT_NOFILE, at most 1024); over it the longest idle one is closed, else the new one gets 503")
	fs.IntVar(&c.maxPerClient, "max-connections-per-client", 0, "cap on open API connections from one client address (0: 64)")
	fs.Var(&c.allowedHosts, "allowed-host", "a `name` a request's Host header may give besides localhost and IP addresses (a reverse proxy's); repeatable. On a loopback --listen every other name is refused (DNS rebinding); elsewhere, names are checked only when this is given")
	logFileMode := fs.String("log-file-mode", "0600", "octal `mode` of the instances' log files, from 0600 to 0666 (e.g. 0640: readable by the group)")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	m, err := parseLogFileMode(*logFileMode)
	if err != nil {
		return c, err
	}
	c.logFileMode = m
	if c.corsOrigin != "" {
		if u, err := url.Parse(c.corsOrigin); err != nil || u.Scheme == "" || u.Host == "" || (u.Path != "" && u.Path != "/") {
			return c, fmt.Errorf("--cors-origin: %q is not an origin like https://host:port", c.corsOrigin)
		}
		c.corsOrigin = strings.TrimSuffix(c.corsOrigin, "/")
	}
	for _, h := range c.allowedHosts {
		if h == "" || strings.ContainsAny(h, ":/ ") {
			return c, fmt.Errorf("--allowed-host: %q is not a host name (no scheme, port or path)", h)
		}
	}
	if c.maxConnections < 0 || c.maxPerClient < 0 {
		return c, fmt.Errorf("--max-connections %d, --max-connections-per-client %d: must not be negative", c.maxConnections, c.maxPerClient)
	}
	if c.maxConnections > 0 && c.maxPerClient > c.maxConnections {
		return c, fmt.Errorf("--max-connections-per-client %d is above --max-connections %d", c.maxPerClient, c.maxConnections)
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if c.onExit != "stop" && c.onExit != "keep" {
		return c, fmt.Errorf("--on-exit: %q is neither stop nor keep", c.onExit)
	}
	if c.logFormat != "text" && c.logFormat != "json" {
		return c, fmt.Errorf("--log-format: %q is neither text nor json", c.logFormat)
	}
	if c.resync <= 0 {
		return c, fmt.Errorf("--resync: %s must be positive", c.resync)
	}
	if c.debugListen != "" && !isLoopback(c.debugListen) {
		return c, fmt.Errorf("--debug-listen: %q is not a loopback address (127.0.0.1:PORT, [::1]:PORT or localhost:PORT)", c.debugListen)
	}
	if c.sampleInterval < 0 {
		return c, fmt.Errorf("--sample-interval: %s must not be negative", c.sampleInterval)
	}
	return c, nil
}

// parseLogFileMode reads --log-file-mode: octal, the owner's read and
// write (the daemon reopens and rotates the files), no execute bits.
func parseLogFileMode(s string) (os.FileMode, error) {
	n, err := strconv.ParseUint(s, 8, 32)
	if err != nil || n&0o600 != 0o600 || n&^0o666 != 0 {
		return 0, fmt.Errorf("--log-file-mode: %q is not an octal mode from 0600 to 0666 with the owner's rw (e.g. 0600, 0640)", s)
	}
	return os.FileMode(n), nil
}

func newLogger(format, level string) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level: %w", err)
	}
	opts := &slog.HandlerOptions{Level: l}
	if format == "json" {
		return slog.New(slog.NewJSONHandler(os.Stderr, opts)), nil
	}
	return slog.New(slog.NewTextHandler(os.Stderr, opts)), nil
}

func parseLabels(s string) (map[string]string, error) {
	m := map[string]string{}
	for _, kv := range strings.Split(s, ",") {
		if kv = strings.TrimSpace(kv); kv == "" {
			continue
		}
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("--node-labels: %q is not k=v", kv)
		}
		m[k] = v
	}
	return m, nil
}

// runDaemon is `proclet run`: it wires the watcher, the reconciler, the
// runtime and the server, runs them until SIGTERM/SIGINT, then stops the
// instances (or leaves them with --on-exit keep).
func runDaemon(args []string) int {
	cfg, err := parseDaemonFlags(args)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		fmt.Fprintf(os.Stderr, "proclet run: %v\n", err)
		return 2
	}
	log, err := newLogger(cfg.logFormat, cfg.logLevel)
	if err != nil {
		fmt.Fprintf(os.Stderr, "proclet run: %v\n", err)
		return 2
	}
	slog.SetDefault(log)
	if os.Getenv("GOGC") == "" {
		// A heap target of 1.5x the live heap instead of 2x: at 1000
		// instances 43 instead of 57 MiB RSS, for a GC cycle more often
		// (the daemon allocates little when idle). GOGC overrides it.
		debug.SetGCPercent(daemonGCPercent)
	}
	if err := daemon(cfg, log); err != nil {
		log.Error("proclet stopped", "err", err)
		return 1
	}
	return 0
}

func daemon(cfg daemonConfig, log *slog.Logger) error {
	labels, err := parseLabels(cfg.nodeLabels)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(cfg.stateDir, 0o755); err != nil {
		return fmt.Errorf("state dir: %w", err)
	}
	unlock, err := lockStateDir(cfg.stateDir)
	if err != nil {
		return err
	}
	defer unlock()
	manifests, err := filepath.Abs(cfg.manifests)
	if err != nil {
		return fmt.Errorf("manifests dir: %w", err)
	}

	// Metrics: one registry, owned here (STYLE.md "Metrics").
	reg := prometheus.NewRegistry()
	var rec *reconciler.Reconciler // set before rt.Run starts sampling
	sampleEvery := cfg.sampleInterval
	if sampleEvery == 0 {
		sampleEvery = -1 // never
	}
	probeStats := server.NewProbeRecorder()
	runDir := cfg.runDir
	if runDir == "" {
		var refused []error
		runDir, refused = exec.TmpfsRunDirRefusals(cfg.stateDir) // "": <state-dir>/run
		logRunDirRefusals(log, refused, runDir, cfg.stateDir)
		if runDir != "" {
			defer os.Remove(runDir) // once empty: every instance stopped
		}
	}
	rt, err := exec.New(exec.Options{StateDir: cfg.stateDir, RunDir: runDir, Log: log.With("component", "runtime"),
		SampleInterval: sampleEvery, OnSample: func() { rec.RefreshUsage() }, OnProbe: probeStats.Record,
		CgroupRoot: cfg.cgroupRoot, LogFileMode: cfg.logFileMode})
	if err != nil {
		return err
	}
	rec = reconciler.New(reconciler.Options{Runtime: rt, Log: log.With("component", "reconciler"), NodeLabels: labels,
		Registerer: reg, StateFile: filepath.Join(cfg.stateDir, "reconciler.json"), Limits: rt.LimitSupport()})
	var _ server.MetricsReader = rec
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	// The state's series are built apart from the registry and merged at
	// scrape time (server.NewMetricsHandler): 10 ms instead of ~50 at 1000.
	stateMetrics := server.NewCollector(rec).WithProbes(probeStats)
	var _ server.StatusReader = rec
	var _ watchers.Sink = rec
	var apiKeys []string
	if cfg.apiKeyFile != "" {
		if apiKeys, err = server.LoadAPIKeys(cfg.apiKeyFile); err != nil {
			return err
		}
	} else if !isLoopback(cfg.listen) {
		log.Warn("the API listens beyond loopback without --api-key-file: anyone who can reach it can read it", "listen", cfg.listen)
	}
	maxConns, perClient, err := connectionCaps(cfg, log.With("component", "server"))
	if err != nil {
		return err
	}
	srv := server.New(server.Options{
		Status:                  rec,
		Log:                     log.With("component", "server"),
		Version:                 version,
		LogPath:                 func(a, i, s string) string { return logfile.Path(cfg.stateDir, a, i, s) },
		APIKeys:                 apiKeys,
		MetricsPublic:           cfg.metricsPublic,
		CORSOrigin:              cfg.corsOrigin,
		AllowedHosts:            cfg.allowedHosts,
		MaxConnections:          maxConns,
		MaxConnectionsPerClient: perClient,
		Registerer:              reg,
		Metrics:                 server.NewMetricsHandler(reg, stateMetrics),
	})
	// Owners: of two files defining one name, the one that held it before
	// the restart keeps it (no rollout of the adopted instances).
	dir := watchers.New(watchers.Options{Root: manifests, Resync: cfg.resync, Log: log.With("component", "watchers"),
		Owners: rec.Owners()}, rec)

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)

	log.Info("proclet starting", "version", version, "manifests", manifests, "state_dir", cfg.stateDir, "run_dir", runDir,
		"listen", cfg.listen, "pid", os.Getpid())
	var wg sync.WaitGroup
	// A component that fails cancels the others (oklog/run semantics).
	component := func(name string, run func(context.Context) error) {
		wg.Go(func() {
			if err := run(ctx); err != nil && ctx.Err() == nil {
				cancel(fmt.Errorf("%s: %w", name, err))
			}
		})
	}
	// The runtime outlives the other components: it does the stopping at
	// shutdown, after the reconciler can no longer restart anything.
	rtCtx, rtCancel := context.WithCancel(context.Background())
	rtDone := make(chan error, 1)
	go func() { rtDone <- rt.Run(rtCtx) }()
	defer func() { rtCancel(); <-rtDone }()
	component("reconciler", rec.Run)
	component("watcher", dir.Run)
	component("server", func(ctx context.Context) error {
		return srv.Run(ctx, cfg.listen, func(a net.Addr) { log.Info("serving the API", "addr", a.String()) })
	})
	if cfg.debugListen != "" {
		component("debug", func(ctx context.Context) error { return serveDebug(ctx, cfg.debugListen, log) })
	}
	wg.Go(func() { releaseFreeMemory(ctx) }) // memory.go
	wg.Go(func() {
		for {
			select {
			case <-ctx.Done():
				return
			case <-hup:
				log.Info("SIGHUP: rescanning the manifests")
				dir.Rescan()
			}
		}
	})
	<-ctx.Done()
	cause := context.Cause(ctx)
	log.Info("proclet stopping", "cause", cause.Error(), "on_exit", cfg.onExit)
	wg.Wait()

	if cfg.onExit == "keep" {
		rt.Detach()
		log.Info("leaving the instances running (--on-exit keep)")
	} else {
		wait := cfg.stopWait
		if wait == 0 {
			wait = shutdownWait(maxGrace(rec))
		}
		sctx, scancel := context.WithTimeout(context.Background(), wait)
		defer scancel()
		if err := rec.Shutdown(sctx); err != nil {
			log.Error("instances left running", "err", err)
		}
		rt.Detach()
		log.Info("every instance stopped")
	}
	if errors.Is(cause, context.Canceled) {
		return nil
	}
	return cause
}

// stringList is a repeatable string flag.
type stringList []string

func (l *stringList) String() string { return strings.Join(*l, ",") }

func (l *stringList) Set(v string) error {
	*l = append(*l, strings.TrimSpace(v))
	return nil
}

// logRunDirRefusals says why a default run dir was not used, and which
// is: a warning for a folder that is there but not private to the daemon
// (someone else's, a link, writable by others), a debug line for a host
// without that tmpfs.
func logRunDirRefusals(log *slog.Logger, refused []error, chosen, stateDir string) {
	if chosen == "" {
		chosen = filepath.Join(stateDir, "run") + " (not a tmpfs: each FIFO costs a disk inode)"
	}
	for _, err := range refused {
		level := slog.LevelWarn
		if errors.Is(err, exec.ErrNotTmpfs) {
			level = slog.LevelDebug
		}
		log.Log(context.Background(), level, "not using a default run dir", "err", err, "using", chosen)
	}
}

// isLoopback reports whether a listen address only accepts local clients.
func isLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// maxGrace is the longest grace period of the apps, the time a graceful
// stop of everything may take.
func maxGrace(rec *reconciler.Reconciler) time.Duration {
	longest := 30 * time.Second
	for _, a := range rec.Apps() {
		longest = max(longest, a.Spec.GracePeriod())
	}
	return longest
}

// shutdownSlack is what a graceful stop of everything gets beyond the
// longest grace period: the preStop hooks' and the reaping's margin.
const shutdownSlack = 10 * time.Second

// shutdownWait is the default --shutdown-timeout: grace plus
// shutdownSlack, saturating rather than wrapping to a negative wait that
// would leave every instance running.
func shutdownWait(grace time.Duration) time.Duration {
	if grace > math.MaxInt64-shutdownSlack {
		return math.MaxInt64
	}
	return max(grace, 0) + shutdownSlack
}

// lockStateDir takes an exclusive flock on <state-dir>/lock so that a
// second daemon on the same state dir refuses to start. The kernel drops
// the lock when the process dies, so a kill -9 never leaves a stale lock.
func lockStateDir(dir string) (func(), error) {
	path := filepath.Join(dir, "lock")
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR|syscall.O_CLOEXEC, 0o644)
	if err != nil {
		return nil, fmt.Errorf("lock state dir: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		// Bounded: a lock file linked to /dev/zero must not eat the memory.
		holder, _ := boundedfile.Read(path, 64)
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("another proclet (pid %s) is already running on state dir %s; stop it first or use another --state-dir",
				strings.TrimSpace(string(holder)), dir)
		}
		return nil, fmt.Errorf("lock state dir %s: %w", dir, err)
	}
	_ = f.Truncate(0)
	_, _ = fmt.Fprintf(f, "%d\n", os.Getpid())
	return func() { f.Close() }, nil
}
