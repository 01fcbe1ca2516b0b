package main

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"

	"proclet.dev/proclet/server"
)

func TestConnectionCaps(t *testing.T) {
	nofile, err := nofileLimit()
	if err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	caps, err := connectionCaps(daemonConfig{}, log)
	maxConns, perClient := caps.maxConns, caps.perClient
	if err != nil || maxConns != server.DefaultMaxConnections(nofile) || perClient != min(64, maxConns) ||
		caps.fds != newFDBudget(nofile, maxConns).api {
		t.Errorf("defaults at RLIMIT_NOFILE %d: %+v, %v", nofile, caps, err)
	}
	if !strings.Contains(logs.String(), "max_connections=") || !strings.Contains(logs.String(), "supervision_fds=") {
		t.Errorf("the split is not logged: %s", logs.String())
	}
	// A cap that would leave supervision almost nothing is refused.
	_, err = connectionCaps(daemonConfig{maxConnections: int(nofile)}, log)
	if err == nil || !strings.Contains(err.Error(), "--max-connections") || !strings.Contains(err.Error(), "RLIMIT_NOFILE") {
		t.Errorf("--max-connections %d at RLIMIT_NOFILE %d: %v", nofile, nofile, err)
	}
}

func TestFDBudget(t *testing.T) {
	b := newFDBudget(20000, 1024)
	// 1024 sockets, (64 streams + 32 log reads) × 6 files, 8 fixed.
	// Supervision: 128 of the Runtime's own, 3 per instance.
	if b.api != 1024+96*6+8 || b.supervision != 20000-b.api || b.instancesRoom != (20000-b.api-128)/3 {
		t.Errorf("budget at 20000: %+v", b)
	}
	if small := newFDBudget(1024, 256); small.instancesRoom >= warnInstancesFit {
		t.Errorf("RLIMIT_NOFILE 1024 said to fit %d instances", small.instancesRoom)
	}
}

func TestDaemonFlags_ConnectionsAndHosts(t *testing.T) {
	c, err := parseDaemonFlags([]string{"--allowed-host", "proclet.example.com", "--allowed-host", "dash.internal",
		"--max-connections", "300", "--max-connections-per-client", "20"})
	if err != nil || strings.Join(c.allowedHosts, ",") != "proclet.example.com,dash.internal" || c.maxConnections != 300 || c.maxPerClient != 20 {
		t.Fatalf("%+v %v", c, err)
	}
	for _, bad := range [][]string{{"--allowed-host", "http://x.example"}, {"--allowed-host", "x.example:80"},
		{"--max-connections", "-1"}, {"--max-connections", "10", "--max-connections-per-client", "11"}} {
		if _, err := parseDaemonFlags(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}
