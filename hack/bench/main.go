// Command bench measures proclet against the physical floor on this
// machine: how long from writing a manifest to the first instance's exec,
// and to N instances running, next to a plain fork/exec loop of the same N
// processes. Every figure is also printed as a ratio to the floor measured
// in the same run, since absolute times on shared machines mean little.
//
//	go run ./hack/bench [-n 100] [-runs 5] [-bin bin]
//
// It needs bin/proclet and bin/workload (make build). It kills every
// process it started, by PID, even when interrupted.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

func main() {
	n := flag.Int("n", 100, "instances")
	runs := flag.Int("runs", 5, "repetitions of each measurement")
	bin := flag.String("bin", "bin", "folder with proclet and workload")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, *bin, *n, *runs); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

type sample struct{ first, all time.Duration }

func run(ctx context.Context, bin string, n, runs int) error {
	workload, err := filepath.Abs(filepath.Join(bin, "workload"))
	if err != nil {
		return err
	}
	proclet, _ := filepath.Abs(filepath.Join(bin, "proclet"))
	tmp, err := os.MkdirTemp("", "proclet-bench")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)

	var floor, daemon []sample
	for i := range runs {
		marks := filepath.Join(tmp, fmt.Sprintf("floor-%d", i))
		s, err := floorRun(ctx, workload, marks, n)
		if err != nil {
			return fmt.Errorf("floor: %w", err)
		}
		floor = append(floor, s)
	}
	d, err := startDaemon(ctx, proclet, tmp)
	if err != nil {
		return err
	}
	defer d.stop()
	for i := range runs {
		marks := filepath.Join(tmp, fmt.Sprintf("proclet-%d", i))
		s, err := d.converge(ctx, workload, marks, n)
		if err != nil {
			return fmt.Errorf("proclet: %w", err)
		}
		daemon = append(daemon, s)
	}
	pf, pa := medians(floor)
	df, da := medians(daemon)
	fmt.Printf("N = %d, %d runs each, medians (machine: %d CPUs)\n\n", n, runs, numCPU())
	fmt.Printf("%-44s %12s %12s\n", "", "first exec", fmt.Sprintf("all %d", n))
	fmt.Printf("%-44s %12s %12s\n", "floor: fork/exec loop", ms(pf), ms(pa))
	fmt.Printf("%-44s %12s %12s\n", "proclet: manifest written -> exec", ms(df), ms(da))
	fmt.Printf("%-44s %11.2fx %11.2fx\n", "proclet / floor", ratio(df, pf), ratio(da, pa))
	return nil
}

// floorRun is the physical floor: a Go loop starting n workloads, then
// SIGTERM to each and Wait.
func floorRun(ctx context.Context, workload, marks string, n int) (sample, error) {
	if err := os.MkdirAll(marks, 0o755); err != nil {
		return sample{}, err
	}
	t0 := time.Now()
	var cmds []*exec.Cmd
	defer func() {
		for _, c := range cmds {
			_ = syscall.Kill(-c.Process.Pid, syscall.SIGTERM)
			_ = c.Wait()
		}
	}()
	for i := range n {
		c := exec.Command(workload, "--mark-start", marks)
		c.Env = append(os.Environ(), fmt.Sprintf("PROCLET_INSTANCE=floor-%d", i))
		c.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		if err := c.Start(); err != nil {
			return sample{}, err
		}
		cmds = append(cmds, c)
	}
	return collect(ctx, marks, n, t0)
}

// collect waits for n start marks and returns the first and last start
// relative to t0.
func collect(ctx context.Context, marks string, n int, t0 time.Time) (sample, error) {
	deadline := time.Now().Add(60 * time.Second)
	for {
		entries, err := os.ReadDir(marks)
		if err != nil {
			return sample{}, err
		}
		if len(entries) >= n {
			var ts []int64
			for _, e := range entries {
				b, err := os.ReadFile(filepath.Join(marks, e.Name()))
				if err != nil || len(b) == 0 {
					ts = nil
					break
				}
				v, err := strconv.ParseInt(string(b), 10, 64)
				if err != nil {
					ts = nil
					break
				}
				ts = append(ts, v)
			}
			if len(ts) >= n {
				slices.Sort(ts)
				return sample{first: time.Duration(ts[0] - t0.UnixNano()), all: time.Duration(ts[n-1] - t0.UnixNano())}, nil
			}
		}
		if time.Now().After(deadline) {
			return sample{}, fmt.Errorf("only %d of %d processes started within 60s", len(entries), n)
		}
		select {
		case <-ctx.Done():
			return sample{}, ctx.Err()
		case <-time.After(5 * time.Millisecond):
		}
	}
}

type daemon struct {
	cmd       *exec.Cmd
	base      string
	manifests string
	pids      map[int]bool
}

func startDaemon(ctx context.Context, proclet, tmp string) (*daemon, error) {
	manifests := filepath.Join(tmp, "manifests")
	if err := os.MkdirAll(manifests, 0o755); err != nil {
		return nil, err
	}
	addr := "127.0.0.1:19391"
	cmd := exec.Command(proclet, "run", "--manifests", manifests, "--state-dir", filepath.Join(tmp, "state"),
		"--listen", addr, "--log-level", "warn")
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	d := &daemon{cmd: cmd, base: "http://" + addr, manifests: manifests, pids: map[int]bool{}}
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := http.Get(d.base + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return d, nil
			}
		}
		if time.Now().After(deadline) {
			d.stop()
			return nil, fmt.Errorf("daemon not ready within 20s")
		}
		select {
		case <-ctx.Done():
			d.stop()
			return nil, ctx.Err()
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// converge writes a manifest of n workloads, measures the starts, then
// removes it and waits for every instance to be gone.
func (d *daemon) converge(ctx context.Context, workload, marks string, n int) (sample, error) {
	if err := os.MkdirAll(marks, 0o755); err != nil {
		return sample{}, err
	}
	manifest := fmt.Sprintf(`apiVersion: proclet.dev/v1alpha1
kind: App
metadata:
  name: bench
spec:
  replicas: %d
  command: [%q, "--mark-start", %q]
  terminationGracePeriodSeconds: 5
`, n, workload, marks)
	tmp := filepath.Join(d.manifests, ".bench.yaml.tmp")
	if err := os.WriteFile(tmp, []byte(manifest), 0o644); err != nil {
		return sample{}, err
	}
	t0 := time.Now()
	if err := os.Rename(tmp, filepath.Join(d.manifests, "bench.yaml")); err != nil {
		return sample{}, err
	}
	s, err := collect(ctx, marks, n, t0)
	d.rememberPIDs()
	if err != nil {
		return s, err
	}
	if err := os.Remove(filepath.Join(d.manifests, "bench.yaml")); err != nil {
		return s, err
	}
	deadline := time.Now().Add(30 * time.Second)
	for d.count() > 0 {
		if time.Now().After(deadline) {
			return s, fmt.Errorf("instances still running 30s after removal")
		}
		time.Sleep(10 * time.Millisecond)
	}
	return s, nil
}

func (d *daemon) instances() []struct {
	PID int `json:"pid"`
} {
	resp, err := http.Get(d.base + "/api/v1/instances")
	if err != nil {
		return nil
	}
	defer resp.Body.Close()
	var l struct {
		Items []struct {
			PID int `json:"pid"`
		} `json:"items"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&l)
	return l.Items
}

func (d *daemon) rememberPIDs() {
	for _, i := range d.instances() {
		if i.PID > 0 {
			d.pids[i.PID] = true
		}
	}
}

func (d *daemon) count() int { return len(d.instances()) }

// stop ends the daemon (which stops its instances) and kills, by process
// group, any instance PID it ever reported that is still there.
func (d *daemon) stop() {
	_ = d.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { _ = d.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		_ = d.cmd.Process.Kill()
		<-done
	}
	for pid := range d.pids {
		_ = syscall.Kill(-pid, syscall.SIGKILL)
	}
}

func medians(s []sample) (first, all time.Duration) {
	f := make([]time.Duration, len(s))
	a := make([]time.Duration, len(s))
	for i := range s {
		f[i], a[i] = s[i].first, s[i].all
	}
	slices.Sort(f)
	slices.Sort(a)
	return f[len(f)/2], a[len(a)/2]
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d)/float64(time.Millisecond)) }

func ratio(a, b time.Duration) float64 { return float64(a) / float64(b) }

func numCPU() int {
	b, _ := os.ReadFile("/proc/cpuinfo")
	return strings.Count(string(b), "processor\t:")
}
