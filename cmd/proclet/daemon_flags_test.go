package main

import (
	"os"
	"strings"
	"testing"
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
