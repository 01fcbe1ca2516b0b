package main

import (
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"
)

// target is one of the performance targets (docs/performance.md),
// checked against the run.
type target struct {
	what     string
	measured string
	ratio    float64 // measured / limit, the worst over the sizes; NaN: not measured
}

// targets renders the performance targets: measured, ratio to the target
// (> 1 is a miss), and the two worst.
func (b *bench) targets() string {
	ts := b.floorTargets()
	ts = append(ts, b.writeExecTargets()...)
	ts = append(ts, b.sizeTargets()...)
	ts = append(ts, b.untouchedTarget())
	ts = append(ts, b.outputTarget()) // scenario_output.go

	var sb strings.Builder
	fmt.Fprintf(&sb, "Targets (N = %d is the largest size of this run):\n\n", b.top())
	sb.WriteString("| target | proclet | ratio to target (> 1 misses) |\n|---|---|---|\n")
	for _, t := range ts {
		fmt.Fprintf(&sb, "| %s | %s | %s |\n", t.what, t.measured, verdict(t.ratio))
	}
	sorted := slices.Clone(ts)
	sort.SliceStable(sorted, func(i, j int) bool { return rank(sorted[i].ratio) > rank(sorted[j].ratio) })
	sb.WriteString("\nWorst ratios against the targets:")
	for i, t := range sorted[:min(2, len(sorted))] {
		if math.IsNaN(t.ratio) {
			break
		}
		fmt.Fprintf(&sb, " %d) %s: %s (%s);", i+1, t.what, verdict(t.ratio), t.measured)
	}
	sb.WriteString("\n\n")
	return sb.String()
}

// worstOver is f's worst (largest) value over the sizes, NaN when none
// was measured, and every size's, shown.
func (b *bench) worstOver(f func(n int) (float64, bool)) (float64, string) {
	worst := math.NaN()
	var parts []string
	for _, n := range b.cfg.Sizes {
		v, ok := f(n)
		if !ok {
			parts = append(parts, "—")
			continue
		}
		parts = append(parts, ratioNum(v))
		if math.IsNaN(worst) || v > worst {
			worst = v
		}
	}
	return worst, strings.Join(parts, " / ")
}

// overFloor is proclet's metric at size n over the floor's floorMetric
// measured just before, over limit.
func (b *bench) overFloor(metric, floorMetric string, limit float64) func(n int) (float64, bool) {
	return func(n int) (float64, bool) {
		v, ok1 := b.res.value("proclet", n, metric)
		f, ok2 := b.floorFor("proclet", n, floorMetric)
		if !ok1 || !ok2 || f <= 0 {
			return 0, false
		}
		return v / f / limit, true
	}
}

// floorTargets are the targets relative to the fork/exec floor: stop all
// at every N, converge at convergeTargetN (every N's ratio shown).
func (b *bench) floorTargets() []target {
	var ts []target
	_, raw := b.worstOver(b.overFloor("converge_ms", "converge_ms", 1))
	t := target{what: fmt.Sprintf("cold converge ≤ 1.2× the fork/exec floor at %d", convergeTargetN), ratio: math.NaN(),
		measured: raw + " of the floor"}
	if r, ok := b.overFloor("converge_ms", "converge_ms", 1.2)(convergeTargetN); ok {
		t.ratio = r
	} else {
		t.measured += fmt.Sprintf(" (N = %d not measured)", convergeTargetN)
	}
	ts = append(ts, t)
	for _, t := range []struct {
		what, metric string
	}{
		{"stop all ≤ 2× the floor at every N (manifest removed)", "stop_ms"},
		{"stop all ≤ 2× the floor at every N (scaled to replicas: 0)", "replicas_stop_ms"},
	} {
		r, _ := b.worstOver(b.overFloor(t.metric, "stop_ms", 2))
		_, raw := b.worstOver(b.overFloor(t.metric, "stop_ms", 1))
		ts = append(ts, target{what: t.what, measured: raw + " of the floor", ratio: r})
	}
	return ts
}

// writeExecTargets are the targets of a manifest write to the first exec,
// idle and beside the most apps.
func (b *bench) writeExecTargets() []target {
	var ts []target
	for _, q := range []struct {
		name  string
		limit float64
	}{{"p50", 20}, {"p99", 100}} {
		worst := math.NaN()
		var parts []string
		for _, n := range []int{0, b.procletTop()} {
			if v, ok := b.res.value("proclet", n, "write_exec_"+q.name+"_ms"); ok {
				where := "idle"
				if n > 0 {
					where = fmt.Sprintf("beside %d", n)
				}
				parts = append(parts, fmt.Sprintf("%s ms %s", num(v), where))
				if math.IsNaN(worst) || v/q.limit > worst {
					worst = v / q.limit
				}
			}
		}
		ts = append(ts, target{what: fmt.Sprintf("manifest write → first exec %s ≤ %.0f ms", q.name, q.limit),
			measured: strings.Join(parts, "; "), ratio: worst})
	}
	return ts
}

// convergeTargetN is where the converge, API, restart and steady CPU
// targets of the largest size are set.
const convergeTargetN = 5000

// sizeTargets are the absolute targets, each set at one size.
func (b *bench) sizeTargets() []target {
	var ts []target
	at := func(what, metric string, n int, limit float64, unit string) {
		v, ok := b.res.value("proclet", n, metric)
		t := target{what: what, ratio: math.NaN(), measured: fmt.Sprintf("N = %d not measured", n)}
		if ok {
			t.measured, t.ratio = fmt.Sprintf("%s %s at N = %d", num(v), unit, n), v/limit
		}
		ts = append(ts, t)
	}
	at("first instance live ≤ 20 ms at 1000 (cold converge)", "first_ms", 1000, 20, "ms")
	at("crash restart p50 ≤ 3 ms at 5000", "crash_p50_ms", 5000, 3, "ms")
	if r, ok := b.overFloor("crash_p50_ms", "crash_p50_ms", 1)(convergeTargetN); ok {
		ts[len(ts)-1].measured += fmt.Sprintf(" (%s the restart floor)", ratioNum(r))
	} else if e, ok := b.res.value("floor", 1, "exec_ms"); ok {
		ts[len(ts)-1].measured += fmt.Sprintf(" (one exec of the workload alone: %s ms)", num(e))
	}
	at("steady CPU ≤ 0.15% of a core at 1000, no probes", "steady_cpu_pct", 1000, 0.15, "%")
	at("steady CPU ≤ 0.5% of a core at 5000, no probes", "steady_cpu_pct", 5000, 0.5, "%")
	at("steady CPU ≤ 0.8% of a core at 1000, a readiness probe on each", "probes_cpu_pct", 1000, 0.8, "%")
	if r, ok := b.overFloor("probes_cpu_pct", "probes_cpu_pct", 1)(1000); ok {
		ts[len(ts)-1].measured += fmt.Sprintf(" (%s the probe floor)", ratioNum(r))
	}
	at("steady RSS ≤ 30 MiB at 1000", "steady_rss_mib", 1000, 30, "MiB")
	at("steady RSS ≤ 45 MiB at 1000, a readiness probe on each", "probes_rss_mib", 1000, 45, "MiB")
	at("GET /api/v1/instances ≤ 10 ms at 5000", "api_instances_p50_ms", 5000, 10, "ms")
	at("GET /metrics ≤ 40 ms at 5000", "metrics_p50_ms", 5000, 40, "ms")
	return ts // the output target is the output scenario's (outputTarget)
}

// untouchedTarget is the target that a change to one app restarts no
// other: met only when none did at any size.
func (b *bench) untouchedTarget() target {
	var untouched []string
	worst := math.NaN()
	for _, n := range b.cfg.Sizes {
		if v, ok := b.res.value("proclet", n, "change_untouched"); ok {
			untouched = append(untouched, num(v))
			if math.IsNaN(worst) || v > worst {
				worst = v
			}
		}
	}
	t := target{what: "a change to one app restarts nothing else", measured: strings.Join(untouched, " / ") + " restarted", ratio: math.NaN()}
	if !math.IsNaN(worst) {
		t.ratio = 0
		if worst > 0 {
			t.ratio = math.Inf(1)
		}
	}
	return t
}

func rank(r float64) float64 {
	if math.IsNaN(r) {
		return -1
	}
	return r
}

func verdict(r float64) string {
	switch {
	case math.IsNaN(r):
		return "not measured"
	case math.IsInf(r, 1):
		return "miss"
	case r > 1:
		return fmt.Sprintf("%.2f — miss", r)
	default:
		return fmt.Sprintf("%.2f — met", r)
	}
}
