package main

import (
	"math"
	"os"
	"os/exec"
	"strings"
	"testing"

	"proclet.dev/proclet/apis/v1alpha1"
)

func TestPct_NearestRank(t *testing.T) {
	xs := []float64{5, 1, 4, 2, 3, 10, 9, 8, 7, 6}
	for _, c := range []struct {
		q    float64
		want float64
	}{{0.5, 5}, {0.95, 10}, {0.99, 10}, {0.1, 1}} {
		if got := pct(xs, c.q); got != c.want {
			t.Errorf("pct(%v) = %v, want %v", c.q, got, c.want)
		}
	}
	if !math.IsNaN(pct(nil, 0.5)) {
		t.Error("pct of nothing is not NaN")
	}
}

// The manifests the harness writes must be valid for the daemon.
func TestManifest_Decodes(t *testing.T) {
	a := app{name: "a7", argv: []string{"/bin/workload", "--mark-start", "/tmp/it's marks", "run/phase/a7"},
		replicas: -1, extraSpec: "  ports:\n    - name: http\n      port: 21007\n" +
			"  readinessProbe:\n    httpGet: {path: /healthz, port: http}\n"}
	b := app{name: "b", argv: []string{"/bin/workload"}, replicas: 3}
	apps, err := v1alpha1.DecodeFile("bench.yaml", []byte(manifest(a)+manifest(b)))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := len(apps), 2; got != want {
		t.Fatalf("%d apps, want %d", got, want)
	}
	if got := apps[0].Spec.Command[2]; got != "/tmp/it's marks" {
		t.Errorf("command[2] = %q", got)
	}
	if r := apps[0].Spec.Replicas; r == nil || *r != 0 {
		t.Errorf("replicas = %v, want 0", r)
	}
	if r := apps[1].Spec.Replicas; r == nil || *r != 3 {
		t.Errorf("replicas = %v, want 3", r)
	}
}

// runScript must hand the workload its argv untouched, quotes included.
func TestRunScript_QuotesArgv(t *testing.T) {
	a := app{inst: "x-0", argv: []string{"printf", "%s|", "it's", "a b", "$HOME"}}
	script := runScript(a)
	out, err := exec.Command("sh", "-c", strings.TrimPrefix(script, "#!/bin/sh\n")).Output()
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(out), "it's|a b|$HOME|"; got != want {
		t.Errorf("output %q, want %q", got, want)
	}
}

func TestReadStat_Self(t *testing.T) {
	s, err := readStat(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if s.ppid != os.Getppid() || s.state == 'Z' {
		t.Errorf("stat of self: %+v (ppid %d)", s, os.Getppid())
	}
	if !alive(os.Getpid()) || rssKiB(os.Getpid()) <= 0 {
		t.Error("self not alive or no RSS")
	}
}

func TestGlyphs_AreFiveBySeven(t *testing.T) {
	for r, g := range glyphs {
		for _, row := range g {
			if len(row) != 5 || strings.Trim(row, ".#") != "" {
				t.Errorf("glyph %q: row %q", r, row)
			}
		}
	}
}
