package main

import (
	"os"
	"strings"
	"testing"
	"time"
)

func TestParseDaemonFlags_LogFileMode(t *testing.T) {
	c, err := parseDaemonFlags(nil)
	if err != nil || c.logFileMode != 0o600 {
		t.Fatalf("default: %v, %v; want 0600", c.logFileMode, err)
	}
	for arg, want := range map[string]os.FileMode{"0640": 0o640, "644": 0o644, "0666": 0o666, "0600": 0o600} {
		c, err := parseDaemonFlags([]string{"--log-file-mode", arg})
		if err != nil || c.logFileMode != want {
			t.Errorf("--log-file-mode %s: %v, %v; want %v", arg, c.logFileMode, err, want)
		}
	}
	for _, arg := range []string{"0755", "0400", "0200", "01600", "rw", "", "0o640", "0700"} {
		_, err := parseDaemonFlags([]string{"--log-file-mode", arg})
		if err == nil || !strings.Contains(err.Error(), "--log-file-mode: \""+arg+"\"") {
			t.Errorf("--log-file-mode %q: %v, want an error naming the flag and the value", arg, err)
		}
	}
}

// Each value the flags' types let through but the daemon cannot use is
// refused, with an error naming the flag and the value.
func TestParseDaemonFlags_RefusesBadValues(t *testing.T) {
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"--cors-origin", "dash.example"}, `--cors-origin: "dash.example"`},
		{[]string{"--cors-origin", "https://dash.example/path"}, `--cors-origin: "https://dash.example/path"`},
		{[]string{"--allowed-host", "proxy:8080"}, `--allowed-host: "proxy:8080"`},
		{[]string{"--allowed-host", ""}, `--allowed-host: ""`},
		{[]string{"--max-connections", "-1"}, "--max-connections -1"},
		{[]string{"--max-connections", "10", "--max-connections-per-client", "11"}, "--max-connections-per-client 11 is above --max-connections 10"},
		{[]string{"--on-exit", "pause"}, `--on-exit: "pause"`},
		{[]string{"--log-format", "xml"}, `--log-format: "xml"`},
		{[]string{"--resync", "0s"}, "--resync: 0s"},
		{[]string{"--debug-listen", "0.0.0.0:6060"}, `--debug-listen: "0.0.0.0:6060"`},
		{[]string{"--sample-interval", "-1s"}, "--sample-interval: -1s"},
		{[]string{"extra"}, `unexpected argument "extra"`},
	} {
		if _, err := parseDaemonFlags(tt.args); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%q: %v, want an error with %q", tt.args, err, tt.want)
		}
	}
	c, err := parseDaemonFlags([]string{"--cors-origin", "https://dash.example/", "--allowed-host", "proxy.internal",
		"--max-connections", "10", "--max-connections-per-client", "10", "--debug-listen", "localhost:6060"})
	if err != nil || c.corsOrigin != "https://dash.example" || len(c.allowedHosts) != 1 {
		t.Fatalf("good values: %+v, %v", c, err)
	}
}

// --log-retention defaults to 7 days, takes 0 (keep forever) and refuses
// a negative duration by name.
func TestDaemonFlags_LogRetention(t *testing.T) {
	if c, err := parseDaemonFlags(nil); err != nil || c.logRetention != 7*24*time.Hour {
		t.Errorf("default: %v, %v; want 168h", c.logRetention, err)
	}
	if c, err := parseDaemonFlags([]string{"--log-retention", "0"}); err != nil || c.logRetention != 0 {
		t.Errorf("0: %v, %v", c.logRetention, err)
	}
	if _, err := parseDaemonFlags([]string{"--log-retention", "-1h"}); err == nil || !strings.Contains(err.Error(), "--log-retention: -1h0m0s") {
		t.Errorf("-1h: %v, want an error naming the flag and the value", err)
	}
}
