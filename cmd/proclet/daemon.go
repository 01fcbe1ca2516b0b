package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"sync"
	"syscall"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"proclet.dev/proclet/apis/v1alpha1"
	"proclet.dev/proclet/reconciler"
	"proclet.dev/proclet/runtime/exec"
	"proclet.dev/proclet/runtime/logfile"
	"proclet.dev/proclet/server"
	"proclet.dev/proclet/watchers"
)

// daemonGCPercent is the daemon's GOGC when the environment sets none.
const daemonGCPercent = 50

// runDaemon is `proclet run` once its flags are parsed and checked: it
// wires the watcher, the reconciler, the runtime and the server, runs them
// until SIGTERM/SIGINT, then stops the instances (or leaves them with
// --on-exit keep).
func runDaemon(cfg daemonConfig) int {
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

// daemon holds the state dir's lock, wires the components and runs them
// until SIGTERM or SIGINT or until one fails, then applies the shutdown
// policy. It returns why the daemon stopped, nil for a signal.
func daemon(cfg daemonConfig, log *slog.Logger) error {
	labels, err := parseLabels(cfg.nodeLabels)
	if err != nil {
		return err
	}
	node, err := nodeName(cfg.nodeName)
	if err != nil {
		return err
	}
	if _, err := advertiseAddress(cfg.listen, cfg.advertiseAddress, nil, node, net.LookupIP); err != nil {
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
	runDir, removeRunDir := chooseRunDir(cfg, log)
	defer removeRunDir()
	p, err := wire(cfg, log, &server.NodeOptions{Name: node, Labels: labels, Folder: manifests}, runDir)
	if err != nil {
		return err
	}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)

	log.Info("proclet starting", "version", version, "node", node, "manifests", manifests, "state_dir", cfg.stateDir, "run_dir", runDir,
		"listen", cfg.listen, "pid", os.Getpid(), "notify_socket", p.rt.NotifySocket())
	// The runtime outlives the other components: it does the stopping at
	// shutdown, after the reconciler can no longer restart anything.
	rtCtx, rtCancel := context.WithCancel(context.Background())
	rtDone := make(chan error, 1)
	go func() { rtDone <- p.rt.Run(rtCtx) }()
	defer func() { rtCancel(); <-rtDone }()
	stopNotify := startSDNotify(ctx, p.rec, log) // Type=notify: sdnotify.go
	cause := p.run(ctx, cfg, log, hup)
	stopNotify()
	shutdownPolicy(cfg.onExit, cfg.stopWait, p.rec, p.rt, log)
	if errors.Is(cause, context.Canceled) {
		return nil
	}
	return cause
}

// chooseRunDir is the output FIFOs' folder: --run-dir, else a private
// folder on a tmpfs, which remove removes once empty (every instance
// stopped), else "" (<state-dir>/run).
func chooseRunDir(cfg daemonConfig, log *slog.Logger) (dir string, remove func()) {
	if cfg.runDir != "" {
		return cfg.runDir, func() {}
	}
	dir, refused := exec.TmpfsRunDirRefusals(cfg.stateDir)
	logRunDirRefusals(log, refused, dir, cfg.stateDir)
	if dir == "" {
		return "", func() {}
	}
	return dir, func() { _ = os.Remove(filepath.Join(dir, "exits")); _ = os.Remove(dir) } // empty folders only
}

// daemonParts are the daemon's components, wired to one another.
type daemonParts struct {
	rt  *exec.Runtime
	rec *reconciler.Reconciler
	srv *server.Server
	dir *watchers.Dir
	// node is the server's identity; its advertise address is set once
	// the API listens.
	node *server.NodeOptions
}

// wire builds the components: the runtime, which samples usage for the
// reconciler and counts probe runs for the metrics; the reconciler over
// the runtime; the server over the reconciler and the one metrics
// registry, owned here; the watcher feeding the reconciler.
func wire(cfg daemonConfig, log *slog.Logger, node *server.NodeOptions, runDir string) (*daemonParts, error) {
	p := &daemonParts{node: node}
	sampleEvery := cfg.sampleInterval
	if sampleEvery == 0 {
		sampleEvery = -1 // never
	}
	probeStats := server.NewProbeRecorder()
	caps, err := connectionCaps(cfg, log.With("component", "server"))
	if err != nil {
		return nil, err
	}
	rt, err := exec.New(exec.Options{ReservedFDs: caps.fds, StateDir: cfg.stateDir, RunDir: runDir, Log: log.With("component", "runtime"),
		// p.rec is set before rt.Run starts sampling.
		SampleInterval: sampleEvery, OnSample: func() { p.rec.RefreshUsage() }, OnProbe: probeStats.Record,
		CgroupRoot: cfg.cgroupRoot, LogFileMode: cfg.logFileMode})
	if err != nil {
		return nil, err
	}
	p.rt = rt
	reg := prometheus.NewRegistry()
	p.rec = reconciler.New(reconciler.Options{Runtime: rt, Log: log.With("component", "reconciler"), NodeLabels: node.Labels,
		Registerer: reg, StateFile: filepath.Join(cfg.stateDir, "reconciler.json"), Limits: rt.LimitSupport()})
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	// The state's series are built apart from the registry and merged at
	// scrape time (server.NewMetricsHandler): 10 ms instead of ~50 at 1000.
	stateMetrics := server.NewCollector(server.MetricsSources{State: p.rec, Exits: p.rec, Probes: probeStats, Jobs: p.rec})
	node.SourceRevision = p.rec.SourceRevision
	tlsConfig, err := newTLSConfig(cfg, log, p.rec)
	if err != nil {
		return nil, err
	}
	// The usage readers show is sampled when they read it (SampleStale).
	if p.srv, err = newServer(cfg, caps, log, p.rec, node, tlsConfig, server.NewMetricsHandler(reg, stateMetrics), reg, rt.SampleStale); err != nil {
		return nil, err
	}
	// Owners: of two files defining one name, the one that held it before
	// the restart keeps it (no rollout of the adopted instances).
	var decode func(string, []byte) ([]v1alpha1.App, error) // watchers' default
	if os.Getenv("GOGC") == "" {                            // the daemon's own GC percent: see gcroom.go
		decode = newGCRoom(daemonGCPercent).decode(v1alpha1.DecodeFile)
	}
	p.dir = watchers.New(watchers.Options{Root: node.Folder, Resync: cfg.resync, Log: log.With("component", "watchers"),
		Owners: p.rec.Owners(), Decode: decode}, p.rec)
	return p, nil
}

// newServer builds the API server over status, with the API keys and
// connection caps of cfg.
func newServer(cfg daemonConfig, caps apiCaps, log *slog.Logger, status server.StatusReader, node *server.NodeOptions, tlsConfig *tls.Config,
	metrics http.Handler, reg prometheus.Registerer, freshUsage func()) (*server.Server, error) {
	var apiKeys []string
	if cfg.apiKeyFile != "" {
		var err error
		if apiKeys, err = server.LoadAPIKeys(cfg.apiKeyFile); err != nil {
			return nil, err
		}
	} else if !isLoopback(cfg.listen) { // --insecure-allow-remote
		log.Warn("the API listens beyond loopback without --api-key-file: anyone who can reach it can read it", "listen", cfg.listen)
	}
	log = log.With("component", "server")
	var sweep *server.LogSweep
	if cfg.logRetention > 0 {
		sweep = &server.LogSweep{StateDir: cfg.stateDir, Retention: cfg.logRetention}
	}
	return server.New(server.Options{
		LogSweep:                sweep,
		Status:                  status,
		Log:                     log,
		Version:                 version,
		Revision:                commit,
		LogPath:                 func(a, i, s string) string { return logfile.Path(cfg.stateDir, a, i, s) },
		APIKeys:                 apiKeys,
		MetricsPublic:           cfg.metricsPublic,
		CORSOrigin:              cfg.corsOrigin,
		AllowedHosts:            cfg.allowedHosts,
		MaxConnections:          caps.maxConns,
		MaxConnectionsPerClient: caps.perClient,
		Registerer:              reg,
		Metrics:                 metrics,
		TLS:                     tlsConfig,
		Node:                    node,
		FreshUsage:              freshUsage,
	}), nil
}

// run runs every component but the runtime until ctx ends or one of them
// fails, which ends the others (oklog/run semantics), and returns why.
// SIGHUP (hup) rescans the manifests.
func (p *daemonParts) run(ctx context.Context, cfg daemonConfig, log *slog.Logger, hup <-chan os.Signal) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var wg sync.WaitGroup
	component := func(name string, run func(context.Context) error) {
		wg.Go(func() {
			if err := run(ctx); err != nil && ctx.Err() == nil {
				cancel(fmt.Errorf("%s: %w", name, err))
			}
		})
	}
	component("reconciler", p.rec.Run)
	component("watcher", p.dir.Run)
	component("server", func(ctx context.Context) error {
		return p.srv.Run(ctx, cfg.listen, func(a net.Addr) {
			// Checked at start: only the port of a --listen on port 0 is new.
			adv, _ := advertiseAddress(cfg.listen, cfg.advertiseAddress, a, p.node.Name, net.LookupIP)
			p.srv.Advertise(adv)
			log.Info("serving the API", "addr", a.String(), "advertise", adv, "tls", cfg.tlsCertFile != "")
		})
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
				p.dir.Rescan()
			}
		}
	})
	<-ctx.Done()
	cause := context.Cause(ctx)
	log.Info("proclet stopping", "cause", cause.Error(), "on_exit", cfg.onExit)
	wg.Wait()
	return cause
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
