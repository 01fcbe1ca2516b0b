package v1alpha1

import (
	"syscall"
	"testing"
)

func TestParseSignal(t *testing.T) {
	for name, want := range map[string]syscall.Signal{
		"SIGTERM": syscall.SIGTERM, "TERM": syscall.SIGTERM, "SIGINT": syscall.SIGINT, "INT": syscall.SIGINT,
		"SIGQUIT": syscall.SIGQUIT, "SIGHUP": syscall.SIGHUP, "SIGUSR1": syscall.SIGUSR1, "USR2": syscall.SIGUSR2,
		"SIGKILL": syscall.SIGKILL, "SIGWINCH": syscall.SIGWINCH,
	} {
		if got, err := ParseSignal(name); err != nil || got != want {
			t.Errorf("ParseSignal(%q) = %v, %v; want %v", name, got, err, want)
		}
	}
	for _, name := range []string{"", "SIG", "sigterm", "term", "15", "SIGSIGTERM", "SIGFOO", " SIGTERM"} {
		if got, err := ParseSignal(name); err == nil {
			t.Errorf("ParseSignal(%q) = %v, want an error", name, got)
		}
	}
}
