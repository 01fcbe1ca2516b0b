package main

import (
	"context"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The restart floor kills the real workload, reaps it, starts the next
// and times each round to its start stamp; it leaves no process behind.
func TestRestartLoop_RoundsOnTheRealWorkload(t *testing.T) {
	dir := t.TempDir()
	workload := filepath.Join(dir, "workload")
	if out, err := exec.Command("go", "build", "-o", workload, "../workload").CombinedOutput(); err != nil {
		t.Fatalf("build workload: %v\n%s", err, out)
	}
	r := newReaper()
	defer r.cleanup()
	b := &bench{r: r, res: &results{}, tmp: dir, workload: workload, began: time.Now(), restarts: map[int][]float64{}}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	l, err := b.newRestartLoop(ctx, "test")
	if err != nil {
		t.Fatal(err)
	}
	pids := []int{l.pid}
	var lat []float64
	for range 3 {
		d, err := l.round(ctx)
		if err != nil {
			l.close()
			t.Fatal(err)
		}
		if !alive(l.pid) || l.pid == pids[len(pids)-1] {
			t.Errorf("round: new pid %d (previous %d) not running", l.pid, pids[len(pids)-1])
		}
		if alive(pids[len(pids)-1]) {
			t.Errorf("killed pid %d still alive", pids[len(pids)-1])
		}
		pids = append(pids, l.pid)
		lat = append(lat, ms(d))
	}
	l.close()
	if len(lat) != 3 {
		t.Fatalf("%d rounds, want 3", len(lat))
	}
	for i, v := range lat {
		if v <= 0 || v > 10_000 {
			t.Errorf("round %d: %.3f ms", i, v)
		}
	}
	for _, pid := range pids {
		if alive(pid) {
			t.Errorf("pid %d left running", pid)
		}
	}
	if n := r.sweep(""); n != 0 {
		t.Errorf("%d processes of the run left over", n)
	}
}

// The restart floor is the floor column's cell of the restart row, each
// peer's restart gets its ratio to the floor measured between its kills,
// the target says it, and the growth plot draws it as its level.
func TestRestartFloor_Reported(t *testing.T) {
	b := benchWith([]int{100, 5000}, map[string]map[string][]float64{
		"proclet": {"crash_p50_ms": {4, 6}},
	})
	b.restarts = map[int][]float64{}
	b.cfg.Peers = []string{"proclet"}
	b.recordRestartFloor("proclet", 100, []float64{1, 2, 3})
	b.recordRestartFloor("proclet", 5000, []float64{2, 3, 4})
	if v, ok := b.res.value("floor", 0, "restart_ms"); !ok || v != 2 {
		t.Errorf("floor restart_ms of the run = %v %v, want 2 (the nearest-rank median of all six)", v, ok)
	}
	out := b.table()
	for _, want := range []string{
		"| kill -9 → new PID, p50 (ms) | 2.0 / 3.0 | 4.0 / 6.0 |",
		"|   ÷ the restart floor measured between the kills |  | 2.00× / 2.00× |",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("no %q in:\n%s", want, out)
		}
	}
	if out := b.targets(); !strings.Contains(out, "| crash restart p50 ≤ 3 ms at 5000 | 6.0 ms at N = 5000 (2.00× the restart floor) |") {
		t.Errorf("targets:\n%s", out)
	}
	for _, p := range growthPanels {
		if p.metric == "crash_p50_ms" && (p.floorOf != "restart_ms" || p.floorAt != 0) {
			t.Errorf("restart panel's floor: %q at %d", p.floorOf, p.floorAt)
		}
	}
}
