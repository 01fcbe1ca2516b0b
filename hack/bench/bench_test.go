package main

import (
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math"
	"os"
	"os/exec"
	"path/filepath"
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

// benchWith is a bench whose results hold figs: peer -> metric -> the
// value at each of sizes (NaN: not measured).
func benchWith(sizes []int, figs map[string]map[string][]float64) *bench {
	b := &bench{cfg: config{Sizes: sizes, Kills: 20, Steady: 30e9, LatWrites: 50}, res: &results{}}
	for peer, ms := range figs {
		for m, vs := range ms {
			for i, v := range vs {
				if !math.IsNaN(v) {
					b.res.set(peer, sizes[i], m, "", v, nil, "")
				}
			}
		}
	}
	return b
}

// growth.png has a chart per figure that grows with N, each with a line
// of every column measured, and says which values are 0 rather than
// leave them out silently.
func TestPlotGrowth_DrawsEveryPanelAndColumn(t *testing.T) {
	nan := math.NaN()
	b := benchWith([]int{10, 100, 1000, 5000}, map[string]map[string][]float64{
		"floor": {"stop_ms": {4.5, 43, 453, 2400}},
		"proclet": {"steady_cpu_pct": {0.17, 0.27, 0.63, 2.1}, "steady_rss_mib": {19, 22, 41, 120}, "crash_p50_ms": {6.8, 4.9, 5.1, 6},
			"api_instances_p50_ms": {0.26, 0.35, 1.5, 8}, "metrics_p50_ms": {1.7, 3.8, 16, 80}, "stop_ms": {67, 109, 656, 3000}},
		"s6": {"steady_cpu_pct": {0, 0, 0, 0}, "steady_rss_mib": {17, 155, 1534, 7600}, "crash_p50_ms": {1010, 1010, 1010, 1010},
			"stop_ms": {14, 120, 1492, 7000}},
		"pm2": {"steady_cpu_pct": {0.27, 0.4, 0.37, nan}, "crash_p50_ms": {14, 14, 21, nan}},
	})
	b.res.set("floor", 1, "exec_ms", "ms", 3.1, nil, "")
	path := filepath.Join(t.TempDir(), "growth.png")
	if err := b.plotGrowth(path); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	const pw, ph, top = 620, 420, 70
	if got := img.Bounds().Size(); got.X != 3*pw || got.Y != top+2*ph {
		t.Fatalf("size %v", got)
	}
	count := func(r image.Rectangle, c color.RGBA) int {
		n := 0
		for y := r.Min.Y; y < r.Max.Y; y++ {
			for x := r.Min.X; x < r.Max.X; x++ {
				if img.At(x, y) == c {
					n++
				}
			}
		}
		return n
	}
	for i, p := range growthPanels {
		r := image.Rect((i%3)*pw, top+(i/3)*ph, (i%3+1)*pw, top+(i/3+1)*ph)
		if count(r, seriesColors["proclet"]) < 100 {
			t.Errorf("panel %q: no proclet line", p.title)
		}
		if p.metric == "stop_ms" && count(r, seriesColors["floor"]) < 100 {
			t.Errorf("panel %q: no floor line", p.title)
		}
		if p.metric == "crash_p50_ms" && (count(r, seriesColors["s6"]) < 100 || count(r, seriesColors["pm2"]) < 100) {
			t.Errorf("panel %q: a peer's line is missing", p.title)
		}
	}
	if os.Getenv("BENCH_PLOT_OUT") != "" {
		data, _ := os.ReadFile(path)
		_ = os.WriteFile(os.Getenv("BENCH_PLOT_OUT"), data, 0o644)
	}
}

// Above 1000, runit cannot run (MAXSERVICES), a peer whose converge and
// stop all at its largest smaller size extrapolate past the budget is
// skipped, and proclet and the fast peers are measured.
func TestSkipLarge_ByCapacityAndBudget(t *testing.T) {
	b := benchWith([]int{100, 1000, 5000}, map[string]map[string][]float64{
		"pm2":         {"converge_ms": {1284, 12508, math.NaN()}, "stop_ms": {6627, 79214, math.NaN()}},
		"supervisord": {"converge_ms": {2373, 28000, math.NaN()}, "stop_ms": {287, 908, math.NaN()}},
		"s6":          {"converge_ms": {355, 3613, math.NaN()}, "stop_ms": {120, 1492, math.NaN()}},
	})
	for _, c := range []struct {
		peer string
		n    int
		want string // a prefix; "" measured
	}{
		{"proclet", 5000, ""}, {"s6", 5000, ""}, {"pm2", 1000, ""}, {"runit", 1000, ""},
		{"runit", 5000, "cannot: runsvdir supervises at most 1000"},
		{"pm2", 5000, "skipped: converge + stop all took 91.7 s at N = 1000, so ~459 s at 5000"},
		{"supervisord", 5000, "skipped: converge + stop all took 28.9 s at N = 1000, so ~145 s at 5000"},
		{"s6", 50000, "skipped: converge + stop all took 5.1 s at N = 1000, so ~255 s at 50000"},
	} {
		got := b.skipLarge(c.peer, c.n)
		if (c.want == "") != (got == "") || !strings.HasPrefix(got, c.want) {
			t.Errorf("skipLarge(%s, %d) = %q, want %q…", c.peer, c.n, got, c.want)
		}
	}
}

// The daemon keeps 3 descriptors per instance beside the API's share: a
// hard limit of 20000 (this bench machine's) holds 5000 instances but not
// 7000; systemd's default (524288) holds the largest size.
func TestDaemonFits_Descriptors(t *testing.T) {
	if err := daemonFitsIn(20000, 5000); err != nil {
		t.Errorf("5000 in 20000: %v", err)
	}
	err := daemonFitsIn(20000, 7000)
	if err == nil || !strings.Contains(err.Error(), "RLIMIT_NOFILE 20000 (the hard limit) fits the daemon ~6088 instances") {
		t.Errorf("7000 in 20000: %v", err)
	}
	if err := daemonFitsIn(hostNofile, maxSize); err != nil {
		t.Errorf("%d in %d: %v", maxSize, hostNofile, err)
	}
}

// Each target is judged at the size it is set at, whatever the largest
// size of the run, and a size the run lacks is "not measured".
func TestTargets_JudgedAtTheirSize(t *testing.T) {
	b := benchWith([]int{10, 1000, 5000}, map[string]map[string][]float64{
		"proclet": {"steady_cpu_pct": {0.1, 0.3, 0.4}, "api_instances_p50_ms": {0.3, 1.5, 12}, "first_ms": {9, 19, 900},
			"converge_ms": {30, 2400, 11000}, "floor_converge_ms": {20, 2200, 10000}},
	})
	out := b.targets()
	for _, want := range []string{
		"| steady CPU ≤ 0.15% of a core at 1000, no probes | 0.30 % at N = 1000 | 2.00 — miss |",
		"| steady CPU ≤ 0.5% of a core at 5000, no probes | 0.40 % at N = 5000 | 0.80 — met |",
		"| GET /api/v1/instances ≤ 10 ms at 5000 | 12.0 ms at N = 5000 | 1.20 — miss |",
		"| first instance live ≤ 20 ms at 1000 (cold converge) | 19.0 ms at N = 1000 | 0.95 — met |",
		"| cold converge ≤ 1.2× the fork/exec floor at 5000 | 1.50× / 1.09× / 1.10× of the floor | 0.92 — met |",
		"| GET /metrics ≤ 40 ms at 5000 | N = 5000 not measured | not measured |",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("no %q in:\n%s", want, out)
		}
	}
	b = benchWith([]int{10, 100}, map[string]map[string][]float64{"proclet": {"steady_cpu_pct": {0.1, 0.2}}})
	if out := b.targets(); !strings.Contains(out, "| steady CPU ≤ 0.5% of a core at 5000, no probes | N = 5000 not measured | not measured |") {
		t.Errorf("quick run:\n%s", out)
	}
}

// A size runs only when the memory available holds 1.5× what a workload
// took at the size before, per workload, and 1 GiB more.
func TestFits_Memory(t *testing.T) {
	b := benchWith([]int{1000, 5000}, map[string]map[string][]float64{"floor": {"workload_mem_mib": {1.9, math.NaN()}}})
	if err := b.fitsIn(24000, 5000); err != nil { // 5000 × 1.9 × 1.5 + 1024 = 15274
		t.Errorf("5000 in 24000 MiB: %v", err)
	}
	err := b.fitsIn(12000, 5000)
	if err == nil || err.Error() != "5000 workloads of ~1.9 MiB need ~15274 MiB, 12000 MiB available" {
		t.Errorf("5000 in 12000 MiB: %v", err)
	}
	if err := b.fitsIn(4100, 1000); err != nil { // before any figure: 2 MiB each, 4024
		t.Errorf("1000 in 4100 MiB: %v", err)
	}
}

// 5000 apps go into files of 1000, each within the daemon's bound of a
// file and valid; a change rewrites only the file that changed, fewer
// apps remove the files no longer needed, and stop all removes them all.
func TestProcletApply_FilesOfAThousand(t *testing.T) {
	dir := t.TempDir()
	p := &procletPeer{manifests: dir}
	apps := make([]app, 5000)
	for i := range apps {
		apps[i] = app{name: fmt.Sprintf("a%d", i), argv: []string{"/srv/bin/workload", "--mark-start", "/tmp/proclet-bench-123/marks",
			fmt.Sprintf("bench-1-2/proclet-5000-0/a%d", i)}}
	}
	if err := p.apply(t.Context(), apps); err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if len(files) != 5 {
		t.Fatalf("%d files for 5000 apps, want 5: %v", len(files), files)
	}
	total := 0
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		got, err := v1alpha1.DecodeFile(filepath.Base(f), data)
		if err != nil {
			t.Fatalf("%s (%d bytes): %v", f, len(data), err)
		}
		total += len(got)
	}
	if total != 5000 {
		t.Fatalf("%d apps in the files, want 5000", total)
	}
	stat := func(name string) os.FileInfo {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		return fi
	}
	before := map[string]os.FileInfo{"bench.yaml": stat("bench.yaml"), "bench-3.yaml": stat("bench-3.yaml")}
	apps[3500].argv = append(apps[3500].argv, "--edited")
	if err := p.apply(t.Context(), apps); err != nil {
		t.Fatal(err)
	}
	if !os.SameFile(before["bench.yaml"], stat("bench.yaml")) || os.SameFile(before["bench-3.yaml"], stat("bench-3.yaml")) {
		t.Error("an edit of app 3500 must rewrite bench-3.yaml only")
	}
	if err := p.apply(t.Context(), apps[:900]); err != nil {
		t.Fatal(err)
	}
	if files, _ := filepath.Glob(filepath.Join(dir, "*.yaml")); len(files) != 1 {
		t.Errorf("900 apps left %v, want bench.yaml alone", files)
	}
	if err := p.stopAll(t.Context()); err != nil {
		t.Fatal(err)
	}
	if files, _ := filepath.Glob(filepath.Join(dir, "*.yaml")); len(files) != 0 {
		t.Errorf("stop all left %v", files)
	}
}
