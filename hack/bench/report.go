package main

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// columns of the table, in order.
var columns = []string{"floor", "proclet", "pm2", "supervisord", "s6", "runit"}

// report prints the table and writes results.json, results.csv, table.md,
// converge.png and growth.png into out.
func (b *bench) report(out string) error {
	table := b.table()
	fmt.Println()
	fmt.Print(table)
	if err := os.WriteFile(filepath.Join(out, "table.md"), []byte(table), 0o644); err != nil {
		return err
	}
	js, err := json.MarshalIndent(b.res, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(out, "results.json"), js, 0o644); err != nil {
		return err
	}
	if err := b.writeCSV(filepath.Join(out, "results.csv")); err != nil {
		return err
	}
	if err := b.plot(filepath.Join(out, "converge.png")); err != nil {
		return err
	}
	if err := b.plotGrowth(filepath.Join(out, "growth.png")); err != nil {
		return err
	}
	abs, _ := filepath.Abs(out)
	fmt.Printf("\nwritten: %s/{table.md,results.json,results.csv,converge.png,growth.png}\n", abs)
	return nil
}

func (b *bench) writeCSV(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	w := csv.NewWriter(f)
	_ = w.Write([]string{"peer", "n", "metric", "unit", "value", "note"})
	b.res.mu.Lock()
	figs := slices.Clone(b.res.Figures)
	b.res.mu.Unlock()
	sort.SliceStable(figs, func(i, j int) bool {
		if figs[i].Peer != figs[j].Peer {
			return slices.Index(columns, figs[i].Peer) < slices.Index(columns, figs[j].Peer)
		}
		return figs[i].N < figs[j].N
	})
	for _, fg := range figs {
		v := ""
		if fg.Value != nil {
			v = strconv.FormatFloat(*fg.Value, 'f', -1, 64)
		}
		_ = w.Write([]string{fg.Peer, strconv.Itoa(fg.N), fg.Metric, fg.Unit, v, fg.Note})
	}
	w.Flush()
	return w.Error()
}

// num formats a figure for the table.
func num(v float64) string {
	switch {
	case math.IsNaN(v):
		return "—"
	case v == 0:
		return "0"
	case math.Abs(v) < 1:
		return strconv.FormatFloat(v, 'f', 2, 64)
	case math.Abs(v) < 100:
		return strconv.FormatFloat(v, 'f', 1, 64)
	default:
		return strconv.FormatFloat(v, 'f', 0, 64)
	}
}

func pctNum(v float64) string {
	if math.IsNaN(v) {
		return "—"
	}
	return strconv.FormatFloat(v, 'f', 2, 64)
}

func ratioNum(v float64) string {
	if math.IsNaN(v) {
		return "—"
	}
	return strconv.FormatFloat(v, 'f', 2, 64) + "×"
}

// cellOf is one value of peer at n: its number, or why there is none.
func (b *bench) cellOf(peer string, n int, metric string, format func(float64) string) string {
	f, ok := b.res.get(peer, n, metric)
	switch {
	case !ok:
		return "—"
	case f.Value != nil:
		return format(*f.Value)
	case f.Note == "timeout" || f.Note == "not installed":
		return f.Note
	case strings.HasPrefix(f.Note, "skipped"):
		return "skipped"
	case strings.HasPrefix(f.Note, "cannot"):
		return "cannot"
	default:
		return "failed"
	}
}

// perSize joins a peer's metric over the sizes: "a / b / c".
func (b *bench) perSize(peer, metric string, format func(float64) string) string {
	cells := make([]string, len(b.cfg.Sizes))
	empty := true
	for i, n := range b.cfg.Sizes {
		cells[i] = b.cellOf(peer, n, metric, format)
		if cells[i] != "—" {
			empty = false
		}
	}
	if empty {
		return ""
	}
	return strings.Join(cells, " / ")
}

// floorFor is the floor peer's metric at n is compared with: the one
// measured just before peer ran at n, else the run's median.
func (b *bench) floorFor(peer string, n int, metric string) (float64, bool) {
	if v, ok := b.res.value(peer, n, "floor_"+metric); ok {
		return v, true
	}
	return b.res.value("floor", n, metric)
}

// ratioToFloor joins metric ÷ the floor's metric over the sizes.
func (b *bench) ratioToFloor(peer, metric string) string {
	cells := make([]string, len(b.cfg.Sizes))
	empty := true
	for i, n := range b.cfg.Sizes {
		v, ok1 := b.res.value(peer, n, metric)
		f, ok2 := b.floorFor(peer, n, metric)
		cells[i] = "—"
		if ok1 && ok2 && f > 0 {
			cells[i], empty = ratioNum(v/f), false
		}
	}
	if empty {
		return ""
	}
	return strings.Join(cells, " / ")
}

// pair is "a / b" of two size-less or single-size figures.
func (b *bench) pair(peer string, n int, m1, m2 string) string {
	c1, c2 := b.cellOf(peer, n, m1, num), b.cellOf(peer, n, m2, num)
	if c1 == "—" && c2 == "—" {
		return ""
	}
	return c1 + " / " + c2
}

func (b *bench) top() int { return slices.Max(b.cfg.Sizes) }

// tableRow is one figure of the table: its label, and its cell in the
// column of a peer ("" when the figure is not the peer's).
type tableRow struct {
	label string
	cell  func(peer string) string
}

// per is a row's cells: the metric at every size.
func (b *bench) per(metric string, f func(float64) string) func(string) string {
	return func(p string) string { return b.perSize(p, metric, f) }
}

// once is a row's cells: the metric measured once (size 0), "" if not.
func (b *bench) once(metric string, f func(float64) string) func(string) string {
	return func(p string) string {
		if c := b.cellOf(p, 0, metric, f); c != "—" {
			return c
		}
		return ""
	}
}

// vsFloor is a row's cells: the metric's ratio to the floor measured just
// before each peer.
func (b *bench) vsFloor(metric string) func(string) string {
	return func(p string) string {
		if p == "floor" {
			return ""
		}
		return b.ratioToFloor(p, metric)
	}
}

// procletOnly is cells only proclet's column has.
func procletOnly(cell func(string) string) func(string) string {
	return func(p string) string {
		if p != "proclet" {
			return ""
		}
		return cell(p)
	}
}

// floorWriteExec is the floor of a manifest write to the first exec: the
// inotify latency's quantile q plus one exec.
func (b *bench) floorWriteExec(q string) string {
	i, ok1 := b.res.value("floor", 0, "inotify_"+q+"_ms")
	e, ok2 := b.res.value("floor", 1, "exec_ms")
	if !ok1 || !ok2 {
		return "—"
	}
	return num(i + e)
}

// tableRows are the figures of the table, in order.
func (b *bench) tableRows() []tableRow {
	top := b.procletTop()
	return []tableRow{
		{"cold converge: config → N live (ms)", b.per("converge_ms", num)},
		{"  ÷ the floor measured just before", b.vsFloor("converge_ms")},
		{"first instance live (ms)", b.per("first_ms", num)},
		{"proclet: 1 app × N replicas, converge (ms)", procletOnly(b.per("replicas_converge_ms", num))},
		{"proclet: N Running per the API (ms)", b.per("api_converge_ms", num)},
		{"apply a change (add one, edit one): both live (ms)", b.per("change_ms", num)},
		{"  untouched apps restarted (of N − 1)", b.per("change_untouched", num)},
		{"kill -9 → new PID, p50 (ms)", func(p string) string {
			if p == "floor" { // the restart floor: kill -9 + one exec, a bare Go loop
				return b.perSize(p, "restart_ms", num)
			}
			return b.perSize(p, "crash_p50_ms", num)
		}},
		{"  ÷ the restart floor measured between the kills", b.vsFloor("crash_p50_ms")},
		{"kill -9 → new PID, p95 (ms)", b.per("crash_p95_ms", num)},
		{fmt.Sprintf("crash loop, alone: starts in %s", b.cfg.Loop), b.once("crashloop_starts", num)},
		{"crash loop: supervisor CPU (% of a core)", b.once("crashloop_cpu_pct", pctNum)},
		{"output flood, 100-byte lines: reader CPU per MiB (ms)", b.once("output_lines_ms_per_mib", num)},
		{"  as % of the writer's CPU", b.once("output_lines_pct_of_writer", pctNum)},
		{"output flood, no newline: reader CPU per MiB (ms)", b.once("output_noline_ms_per_mib", num)},
		{"  as % of the writer's CPU", b.once("output_noline_pct_of_writer", pctNum)},
		{"steady: supervisor CPU (% of a core)", b.per("steady_cpu_pct", pctNum)},
		{"steady: supervisor RSS, summed (MiB)", b.per("steady_rss_mib", num)},
		{"steady: supervisor PSS, summed (MiB)", b.per("steady_pss_mib", num)},
		{"steady: supervisor's open descriptors, summed", b.per("steady_fds", num)},
		{"steady, readiness probe on each: CPU (%)", b.per("probes_cpu_pct", pctNum)},
		{"  ÷ the probe floor, the same probes alone beside it", b.vsFloor("probes_cpu_pct")},
		{"steady, readiness probe on each: RSS (MiB)", b.per("probes_rss_mib", num)},
		{"floor: one workload's RSS, mean (MiB)", b.per("workload_rss_mib", num)},
		{"floor: one workload's PSS, mean (MiB)", b.per("workload_pss_mib", num)},
		{"floor: host memory per workload, MemAvailable's drop (MiB)", b.per("workload_mem_mib", num)},
		{"stop all (ms)", b.per("stop_ms", num)},
		{"  ÷ the floor measured just before", b.vsFloor("stop_ms")},
		{"proclet: 1 app × N replicas, scaled to 0 (ms)", procletOnly(b.per("replicas_stop_ms", num))},
		{"proclet: daemon SIGTERM → all N gone (ms)", procletOnly(b.per("shutdown_ms", num))},
		{"manifest write → first exec, idle: p50 / p99 (ms)", func(p string) string {
			switch p {
			case "floor":
				return b.floorWriteExec("p50") + " / " + b.floorWriteExec("p99")
			case "proclet":
				return b.pair(p, 0, "write_exec_p50_ms", "write_exec_p99_ms")
			}
			return ""
		}},
		{fmt.Sprintf("manifest write → first exec beside %d apps: p50 / p99 (ms)", top), procletOnly(func(p string) string {
			return b.pair(p, top, "write_exec_p50_ms", "write_exec_p99_ms")
		})},
		{"GET /api/v1/instances, p50 (ms)", b.per("api_instances_p50_ms", num)},
		{"GET /metrics, p50 (ms)", b.per("metrics_p50_ms", num)},
		{"proclet: rollout through one socket, 3 replicas: failed requests", b.once("socket_rollout_3_failed", num)},
		{"proclet: rollout through one socket, 30 replicas: failed requests", b.once("socket_rollout_30_failed", num)},
	}
}

// table renders the run as Markdown: the figures, the targets, and notes.
func (b *bench) table() string {
	sizes := make([]string, len(b.cfg.Sizes))
	for i, n := range b.cfg.Sizes {
		sizes[i] = strconv.Itoa(n)
	}
	var sb strings.Builder
	m := b.res.Machine
	fmt.Fprintf(&sb, "N = %s. Medians. Machine: %d CPUs (%s), %d MiB, %s, kernel %s, %s; load at start %s.\n\n",
		strings.Join(sizes, " / "), m.CPUs, m.CPUModel, m.MemMiB, m.OS, m.Kernel, m.Go, m.Load)
	for _, c := range m.Changed {
		fmt.Fprintf(&sb, "Host: %s.\n", c)
	}
	sb.WriteString(b.largeNote())
	header := []string{"figure"}
	for _, c := range columns {
		name := c
		if v := b.res.Versions[c]; v != "" && c != "proclet" {
			name += " " + v
		}
		header = append(header, name)
	}
	fmt.Fprintf(&sb, "| %s |\n|%s\n", strings.Join(header, " | "), strings.Repeat("---|", len(header)))
	for _, r := range b.tableRows() {
		cells := []string{r.label}
		any := false
		for _, c := range columns {
			v := r.cell(c)
			if v != "" {
				any = true
			}
			cells = append(cells, v)
		}
		if any {
			fmt.Fprintf(&sb, "| %s |\n", strings.Join(cells, " | "))
		}
	}
	sb.WriteString("\n")
	sb.WriteString(b.targets())
	sb.WriteString(b.notes())
	return sb.String()
}

// notes says how each peer was told, and every figure that failed.
func (b *bench) notes() string {
	var sb strings.Builder
	sb.WriteString("How each one is given its config:\n")
	for _, c := range columns {
		if h := b.res.How[c]; h != "" {
			fmt.Fprintf(&sb, "- %s: %s\n", c, h)
		}
	}
	b.res.mu.Lock()
	defer b.res.mu.Unlock()
	var failed []string
	for _, f := range b.res.Figures {
		if f.Value == nil && f.Note != "" {
			failed = append(failed, fmt.Sprintf("- %s N=%d %s: %s", f.Peer, f.N, f.Metric, f.Note))
		}
	}
	if len(failed) > 0 {
		sb.WriteString("\nNot measured:\n" + strings.Join(failed, "\n") + "\n")
	}
	if b.res.Partial {
		sb.WriteString("\nPARTIAL: the run was interrupted.\n")
	}
	return sb.String()
}
