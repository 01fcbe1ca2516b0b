package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"time"
)

// profileProclet records where the daemon spends its CPU at size n with
// perf (the daemon has no pprof endpoint): once while it converges, once
// in the steady state. It writes perf-<what>-<n>.data and a text report
// of each (cumulative, the daemon's own threads only) into out. Its own
// phase: perf's overhead stays out of the timed figures.
func (b *bench) profileProclet(ctx context.Context, n int, out string) {
	if _, err := exec.LookPath("perf"); err != nil {
		b.logf("profile: no perf (apt-get install linux-perf): %v", err)
		return
	}
	name := fmt.Sprintf("proclet-profile-%d", n)
	err := b.withPeer(ctx, procletKind, name, func(p peer, ph *phase) error {
		pid := p.roots()[0]
		record := func(what string, during func() error) error {
			data := filepath.Join(out, fmt.Sprintf("perf-%s-%d.data", what, n))
			cmd := exec.Command("perf", "record", "-F", "499", "-g", "-p", strconv.Itoa(pid), "-o", data)
			cmd.Stdout, cmd.Stderr = ph.log, ph.log
			c, err := b.r.start(ph.name, cmd)
			if err != nil {
				return err
			}
			if err := sleep(ctx, 500*time.Millisecond); err != nil { // perf attaches
				c.stop(time.Second)
				return err
			}
			err = during()
			c.kill(syscall.SIGINT)
			<-c.done
			if err != nil {
				return err
			}
			report, err := os.Create(filepath.Join(out, fmt.Sprintf("perf-%s-%d.txt", what, n)))
			if err != nil {
				return err
			}
			defer report.Close()
			rep := exec.CommandContext(ctx, "perf", "report", "-i", data, "--comm", "proclet", "--children",
				"--sort", "symbol", "--stdio", "-g", "none", "--percent-limit", "0.5")
			rep.Stdout, rep.Stderr = report, ph.log
			return rep.Run()
		}
		apps := ph.apps(n)
		if err := record("converge", func() error {
			_, _, _, err := b.converge(ctx, p, ph, apps, instances(apps))
			return err
		}); err != nil {
			return err
		}
		return record("steady", func() error { return sleep(ctx, b.settle()+b.cfg.Steady) })
	})
	if err != nil {
		b.logf("%s: %v", name, err)
		return
	}
	b.logf("%s: perf profiles written to %s/perf-{converge,steady}-%d.{data,txt}", name, out, n)
}
