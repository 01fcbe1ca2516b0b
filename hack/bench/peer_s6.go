package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"time"
)

// s6Peer is s6-svscan on a scan folder of its own: a service folder per
// app with a ./run that execs the workload, added by renaming it in and
// `s6-svscanctl -a` (scan now); a changed ./run takes `s6-svc -r`.
type s6Peer struct {
	ph      *phase
	scan    string
	current map[string]app
	daemon  *child
}

var s6Kind = peerKind{
	name: "s6",
	how:  "service folders renamed into the scandir, then `s6-svscanctl -a` (and `s6-svc -r` for a changed run script)",
	new: func(ph *phase) peer {
		return &s6Peer{ph: ph, scan: filepath.Join(ph.dir, "scan"), current: map[string]app{}}
	},
}

func (p *s6Peer) start(ctx context.Context) error {
	if err := os.MkdirAll(p.scan, 0o755); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Join(p.ph.dir, "stage"), 0o755); err != nil {
		return err
	}
	// -c: room for more services than the default (1000) at every size;
	// -t0: no periodic scan (the default), the harness asks with -a.
	cmd := exec.Command("s6-svscan", "-c", strconv.Itoa(max(4096, 2*p.ph.b.top())), p.scan)
	cmd.Stdout, cmd.Stderr = p.ph.log, p.ph.log
	var err error
	if p.daemon, err = p.ph.r.start(p.ph.name, cmd); err != nil {
		return fmt.Errorf("s6-svscan: %w", err)
	}
	control := filepath.Join(p.scan, ".s6-svscan", "control")
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, err := os.Stat(control); err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("s6-svscan: no %s within 10s", control)
		}
		select {
		case <-p.daemon.done:
			return fmt.Errorf("s6-svscan exited at start: %v (see %s)", p.daemon.err, p.ph.log.Name())
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(5 * time.Millisecond):
		}
	}
}

func (p *s6Peer) apply(ctx context.Context, apps []app) error {
	_, changed, err := serviceDirs(p.scan, filepath.Join(p.ph.dir, "stage"), p.current, apps)
	if err != nil {
		return err
	}
	if err := p.ph.r.runCmd(ctx, p.ph.name, 30*time.Second, p.ph.log, nil, "s6-svscanctl", "-a", p.scan); err != nil {
		return err
	}
	for _, name := range changed {
		if err := p.ph.r.runCmd(ctx, p.ph.name, 30*time.Second, p.ph.log, nil, "s6-svc", "-r", filepath.Join(p.scan, name)); err != nil {
			return err
		}
	}
	return nil
}

// stopAll is `s6-svscanctl -t`: every s6-supervise brings its service down
// and exits, then s6-svscan exits (s6's "stop everything").
func (p *s6Peer) stopAll(ctx context.Context) error {
	return p.ph.r.runCmd(ctx, p.ph.name, 30*time.Second, p.ph.log, nil, "s6-svscanctl", "-t", p.scan)
}

func (p *s6Peer) roots() []int {
	if p.daemon == nil {
		return nil
	}
	return []int{p.daemon.cmd.Process.Pid}
}

func (p *s6Peer) close() {
	if p.daemon != nil {
		p.daemon.stop(5 * time.Second)
	}
}
