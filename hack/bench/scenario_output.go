package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// outputVariants are the shapes of output the output scenario writes:
// 100-byte lines, and no newline at all (every piece of it cut).
var outputVariants = []struct {
	name string
	line int // a newline every line bytes; 0: none
}{{"lines", 100}, {"noline", 0}}

// outputRate is the pace of the writer of the output scenario, in bytes a
// second: 100 MB/s, a service logging far more than most ever do.
const outputRate = 100_000_000

// outputCost is what a flood of output costs: one instance writes a fixed
// count of bytes at outputRate, in 64 KiB writes, and the figures are the
// reader's CPU per MiB, and as a percentage of the writer's, both from
// /proc/<pid>/task/*/schedstat. For proclet the reader is the daemon (FIFO
// → its log file); for supervisord the supervisord process, which reads
// its programs' pipes and writes their log files itself; for PM2 its God
// daemon, likewise (scenario_output_peers.go). The floor is cat(1) reading
// a pipe into a file. runit and s6 log through a logger process per
// service, which this scenario does not set up.
func (b *bench) outputCost(ctx context.Context) {
	size := int64(256 << 20)
	if b.cfg.Quick {
		size = 128 << 20
	}
	peers := b.outputPeers(ctx)
	for _, v := range outputVariants {
		if ctx.Err() != nil {
			return
		}
		b.outputFloor(ctx, v.name, v.line, size)
		b.outputProclet(ctx, v.name, v.line, size)
		for _, k := range peers {
			b.outputPeer(ctx, k, v.name, v.line, size)
		}
	}
}

// floodArgs are the workload's flags for a flood of size bytes with a
// newline every line bytes, paced at outputRate.
func floodArgs(size int64, line int) []string {
	return []string{"--flood", strconv.FormatInt(size, 10), "--flood-line", strconv.Itoa(line),
		"--flood-rate", strconv.Itoa(outputRate)}
}

// outputTargetPct is the target of the output scenario: the daemon's CPU
// at most this percentage of the writer's, at outputRate.
const outputTargetPct = 10

// outputTarget checks proclet's output figures against outputTargetPct,
// the worse of the two variants.
func (b *bench) outputTarget() target {
	t := target{what: fmt.Sprintf("daemon CPU ≤ %d %% of the writer's at %d MB/s of output", outputTargetPct, outputRate/1_000_000),
		measured: "not measured", ratio: math.NaN()}
	var parts []string
	for _, v := range outputVariants {
		pct, ok := b.res.value("proclet", 0, "output_"+v.name+"_pct_of_writer")
		if !ok {
			continue
		}
		parts = append(parts, fmt.Sprintf("%s %.0f %%", v.name, pct))
		if r := pct / outputTargetPct; math.IsNaN(t.ratio) || r > t.ratio {
			t.ratio = r
		}
	}
	if len(parts) > 0 {
		t.measured = strings.Join(parts, ", ")
	}
	return t
}

// setOutput records one reader's figures for variant v.
func (b *bench) setOutput(peer, v string, size int64, reader, writer time.Duration, note string) {
	mib := float64(size) / (1 << 20)
	b.res.set(peer, 0, "output_"+v+"_ms_per_mib", "ms", ms(reader)/mib, nil, note)
	b.res.set(peer, 0, "output_"+v+"_pct_of_writer", "%", 100*reader.Seconds()/writer.Seconds(), nil, note)
	b.logf("%s output (%s, %d MB/s): %.3f ms CPU per MiB, %.0f%% of the writer's (%.3f ms per MiB)", peer, v,
		outputRate/1_000_000, ms(reader)/mib, 100*reader.Seconds()/writer.Seconds(), ms(writer)/mib)
}

// outputFloor is workload | cat > file.
func (b *bench) outputFloor(ctx context.Context, v string, line int, size int64) {
	err := func() error {
		ph, err := b.newPhase("floor-output-" + v)
		if err != nil {
			return err
		}
		defer ph.close()
		out, err := os.Create(filepath.Join(ph.dir, "out.log"))
		if err != nil {
			return err
		}
		defer os.Remove(out.Name()) // before the next flood: its dirty pages would be written back during it
		defer out.Close()
		pr, pw, err := os.Pipe()
		if err != nil {
			return err
		}
		w := exec.Command(b.workload, append(floodArgs(size, line), "--flood-exit")...)
		w.Stdout = pw
		c := exec.Command("cat")
		c.Stdin, c.Stdout = pr, out
		wc, err := b.r.start(ph.name, w)
		if err != nil {
			return err
		}
		cc, err := b.r.start(ph.name, c)
		pr.Close()
		pw.Close()
		if err != nil {
			return err
		}
		for _, k := range []*child{wc, cc} {
			select {
			case <-k.done:
			case <-ctx.Done():
				return ctx.Err()
			}
			if k.err != nil {
				return k.err
			}
		}
		b.setOutput("floor", v, size, cpuOf(cc), cpuOf(wc), fmt.Sprintf("cat of %d MiB from a pipe", size>>20))
		return nil
	}()
	if err != nil {
		b.logf("floor output (%s): %v", v, err)
		b.missAll("floor", 0, short(err), "output_"+v+"_ms_per_mib", "output_"+v+"_pct_of_writer")
	}
}

// onCPU is the time the threads of pids have run, from
// /proc/<pid>/task/*/schedstat (in ns: the 10 ms ticks of /proc/<pid>/stat
// are too coarse for a writer that spends 50 ms on a flood).
func onCPU(pids []int) time.Duration {
	var sum time.Duration
	for _, pid := range pids {
		tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/schedstat", pid))
		for _, t := range tasks {
			b, err := os.ReadFile(t)
			if err != nil {
				continue
			}
			f := strings.Fields(string(b))
			if len(f) > 0 {
				ns, _ := strconv.ParseInt(f[0], 10, 64)
				sum += time.Duration(ns)
			}
		}
	}
	return sum
}

// cpuOf is the CPU time of an exited child, from its rusage: the same
// count as schedstat's, which is gone with the process.
func cpuOf(c *child) time.Duration {
	ru, ok := c.cmd.ProcessState.SysUsage().(*syscall.Rusage)
	if !ok {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// outputProclet is one app flooding its log, which holds it all (maxSize
// 4Gi): the daemon's CPU from the apply until the log holds every byte.
func (b *bench) outputProclet(ctx context.Context, v string, line int, size int64) {
	err := b.withPeer(ctx, procletKind, "proclet-output-"+v, func(p peer, ph *phase) error {
		a := ph.app("flood", floodArgs(size, line)...)
		a.extraSpec = "  logs: {maxSize: 4Gi, maxFiles: 1}\n"
		waitIdle(ctx, func() []int { return supervisorTree(p.roots(), ph.token) })
		before := onCPU(supervisorTree(p.roots(), ph.token))
		if err := p.apply(ctx, []app{a}); err != nil {
			return err
		}
		logs := filepath.Join(ph.dir, "state", "logs", a.name)
		defer os.Remove(filepath.Join(logs, a.inst+".stdout.log")) // as in outputFloor
		if err := waitFlooded(ctx, filepath.Join(logs, a.inst+".stdout.log"), filepath.Join(logs, a.inst+".stderr.log"), size); err != nil {
			return err
		}
		daemon := onCPU(supervisorTree(p.roots(), ph.token)) - before
		s, ok := ph.marks.latest(a.inst)
		if !ok {
			return errors.New("no start stamp of the writer")
		}
		writer := onCPU([]int{s.pid})
		b.setOutput("proclet", v, size, daemon, writer,
			fmt.Sprintf("%d MiB into one log file", size>>20))
		return nil
	})
	if err != nil {
		b.logf("proclet output (%s): %v", v, err)
		b.missAll("proclet", 0, short(err), "output_"+v+"_ms_per_mib", "output_"+v+"_pct_of_writer")
	}
}

// waitIdle waits, 30 s at most, until the supervisor's processes spend
// under 2 % of a core over a quarter of a second: its start-up work (a
// daemon's first scan of /proc takes seconds on a loaded box) is not the
// output's cost. What it spends idle is counted (a few ms a second).
func waitIdle(ctx context.Context, pids func() []int) {
	const window = 250 * time.Millisecond
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		before := onCPU(pids())
		if sleep(ctx, window) != nil {
			return
		}
		if onCPU(pids())-before < window/50 {
			return
		}
	}
}

// waitFlooded waits until the instance's stderr log says the flood is
// written and its stdout log has stopped growing with at least size bytes.
func waitFlooded(ctx context.Context, stdout, stderr string, size int64) error {
	deadline := time.Now().Add(5 * time.Minute)
	last, still := int64(-1), 0
	for still < 5 {
		if time.Now().After(deadline) {
			return fmt.Errorf("flood: %w", errTimeout)
		}
		if err := sleep(ctx, 20*time.Millisecond); err != nil {
			return err
		}
		errLog, _ := os.ReadFile(stderr)
		st, err := os.Stat(stdout)
		if err != nil || !bytes.Contains(errLog, []byte("flood done")) || st.Size() < size {
			continue
		}
		if st.Size() == last {
			still++
		} else {
			last, still = st.Size(), 0
		}
	}
	return nil
}
