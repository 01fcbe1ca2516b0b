package main

import (
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"proclet.dev/proclet/runtime/exec"
	"proclet.dev/proclet/server"
)

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
	// Node identity and remote access (node.go).
	nodeName, advertiseAddress string
	tlsCertFile, tlsKeyFile    string
	insecureAllowRemote        bool
	stopWait                   time.Duration
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
	// logRetention is how long the log files of gone instances are kept
	// after their last write (0: forever).
	logRetention time.Duration
}

// parseDaemonFlags reads `proclet run`'s flags and checks them; the error
// names the flag and the value. The run command parses through cobra,
// then calls finishDaemonFlags the same way.
func parseDaemonFlags(args []string) (daemonConfig, error) {
	var c daemonConfig
	fs := pflag.NewFlagSet("run", pflag.ContinueOnError)
	fs.SetOutput(io.Discard)
	logFileMode := defineDaemonFlags(fs, &c)
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	return c, finishDaemonFlags(&c, fs.Args(), *logFileMode)
}

// finishDaemonFlags refuses arguments, reads --log-file-mode's text and
// checks the values.
func finishDaemonFlags(c *daemonConfig, args []string, logFileMode string) error {
	if len(args) > 0 {
		return fmt.Errorf("unexpected argument %q", args[0])
	}
	m, err := parseLogFileMode(logFileMode)
	if err != nil {
		return err
	}
	c.logFileMode = m
	return c.check()
}

// defineDaemonFlags defines the flags into c, but --log-file-mode, whose
// text it returns (parseLogFileMode reads it). The names are those of
// earlier versions (Go's flag package); none has a shorthand.
func defineDaemonFlags(fs *pflag.FlagSet, c *daemonConfig) *string {
	fs.StringVar(&c.manifests, "manifests", "./manifests", "the manifests `directory` (may be a symlink, e.g. git-sync's)")
	fs.StringVar(&c.stateDir, "state-dir", "./.proclet", "`directory` for logs, run files and the lock")
	fs.StringVar(&c.listen, "listen", "127.0.0.1:9090", "`address` of the REST API")
	fs.DurationVar(&c.resync, "resync", 30*time.Second, "full rescan of the manifests directory every `interval`, as a safety net")
	fs.StringVar(&c.logFormat, "log-format", "text", "log format: text or json")
	fs.StringVar(&c.logLevel, "log-level", "info", "log level: debug, info, warn or error")
	fs.StringVar(&c.onExit, "on-exit", "stop", "what a stopping daemon does with the instances: stop or keep")
	fs.StringVar(&c.nodeLabels, "node-labels", "", "this host's labels `k=v,...`, matched against nodeSelector")
	fs.StringVar(&c.nodeName, "node-name", "", "this node's `name` in /api/v1/node, the targets' node label and proclet_node_info (default: the host name)")
	fs.StringVar(&c.advertiseAddress, "advertise-address", "", "the `host:port` others reach this daemon at, and the host of /api/v1/targets (default: --listen's; on 0.0.0.0 or ::, the host name's first address beyond loopback)")
	fs.StringVar(&c.tlsCertFile, "tls-cert-file", "", "serve the API over HTTPS with this PEM certificate `file` (the chain after it); reloaded when it changes")
	fs.StringVar(&c.tlsKeyFile, "tls-key-file", "", "the PEM private key `file` of --tls-cert-file; reloaded when it changes")
	fs.BoolVar(&c.insecureAllowRemote, "insecure-allow-remote", false, "serve a --listen beyond loopback without --api-key-file, or API keys without TLS")
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
	fs.DurationVar(&c.logRetention, "log-retention", server.DefaultLogRetention, "delete the log files of instances that are gone (app removed, scaled down, replaced) this `long` after their last write (0: keep them)")
	fs.Var(&c.allowedHosts, "allowed-host", "a `name` a request's Host header may give besides localhost and IP addresses (a reverse proxy's); repeatable. On a loopback --listen every other name is refused (DNS rebinding); elsewhere, names are checked only when this is given")
	return fs.String("log-file-mode", "0600", "octal `mode` of the instances' log files, from 0600 to 0666 (e.g. 0640: readable by the group)")
}

// check refuses values the flags' types let through, and normalizes
// --cors-origin.
func (c *daemonConfig) check() error {
	if c.corsOrigin != "" {
		if u, err := url.Parse(c.corsOrigin); err != nil || u.Scheme == "" || u.Host == "" || (u.Path != "" && u.Path != "/") {
			return fmt.Errorf("--cors-origin: %q is not an origin like https://host:port", c.corsOrigin)
		}
		c.corsOrigin = strings.TrimSuffix(c.corsOrigin, "/")
	}
	for _, h := range c.allowedHosts {
		if h == "" || strings.ContainsAny(h, ":/ ") {
			return fmt.Errorf("--allowed-host: %q is not a host name (no scheme, port or path)", h)
		}
	}
	if c.maxConnections < 0 || c.maxPerClient < 0 {
		return fmt.Errorf("--max-connections %d, --max-connections-per-client %d: must not be negative", c.maxConnections, c.maxPerClient)
	}
	if c.maxConnections > 0 && c.maxPerClient > c.maxConnections {
		return fmt.Errorf("--max-connections-per-client %d is above --max-connections %d", c.maxPerClient, c.maxConnections)
	}
	if c.onExit != "stop" && c.onExit != "keep" {
		return fmt.Errorf("--on-exit: %q is neither stop nor keep", c.onExit)
	}
	if c.logFormat != "text" && c.logFormat != "json" {
		return fmt.Errorf("--log-format: %q is neither text nor json", c.logFormat)
	}
	if c.logRetention < 0 {
		return fmt.Errorf("--log-retention: %s must not be negative", c.logRetention)
	}
	if c.resync <= 0 {
		return fmt.Errorf("--resync: %s must be positive", c.resync)
	}
	if c.debugListen != "" && !isLoopback(c.debugListen) {
		return fmt.Errorf("--debug-listen: %q is not a loopback address (127.0.0.1:PORT, [::1]:PORT or localhost:PORT)", c.debugListen)
	}
	if c.sampleInterval < 0 {
		return fmt.Errorf("--sample-interval: %s must not be negative", c.sampleInterval)
	}
	if err := c.checkAdvertiseAddress(); err != nil {
		return err
	}
	return c.checkRemoteAccess()
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

// stringList is a repeatable string flag.
type stringList []string

func (l *stringList) String() string { return strings.Join(*l, ",") }

// Type is the value's name in the help.
func (l *stringList) Type() string { return "name" }

func (l *stringList) Set(v string) error {
	*l = append(*l, strings.TrimSpace(v))
	return nil
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
