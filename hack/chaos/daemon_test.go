package main

import (
	"reflect"
	"strings"
	"testing"
)

func TestScanDaemonLog(t *testing.T) {
	log := strings.Join([]string{
		"=== chaos: daemon start 1 at 2026-01-01T00:00:00Z ===",
		`time=2026-01-01T00:00:00Z level=INFO msg="serving the API" addr=127.0.0.1:4000`,
		`time=2026-01-01T00:00:01Z level=WARN msg="manifest not applied" path=a.yaml`,
		`time=2026-01-01T00:00:02Z level=WARN msg="web-0 pid 10 killed by SIGKILL (Error)"`,
		`time=2026-01-01T00:00:03Z level=ERROR msg="reading instance output" err=boom`,
		"panic: runtime error: index out of range [3] with length 3",
		"",
		"goroutine 1 [running]:",
		"fatal error: concurrent map writes",
	}, "\n")
	st, err := scanDaemonLog(strings.NewReader(log))
	if err != nil {
		t.Fatal(err)
	}
	want := daemonLogStats{warnings: 2, errors: 1, crashes: []string{
		"panic: runtime error: index out of range [3] with length 3", "fatal error: concurrent map writes"}}
	if !reflect.DeepEqual(st, want) {
		t.Fatalf("got %+v, want %+v", st, want)
	}
}

func TestAddrRE(t *testing.T) {
	line := `time=2026-01-01T00:00:00Z level=INFO msg="serving the API" component=server addr=127.0.0.1:40123`
	if m := addrRE.FindStringSubmatch(line); m == nil || m[1] != "127.0.0.1:40123" {
		t.Fatalf("addr from %q: %v", line, m)
	}
}
