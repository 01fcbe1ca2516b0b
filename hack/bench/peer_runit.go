package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"time"
)

// runitPeer is runsvdir on a service folder of its own, with a service
// folder per app whose ./run execs the workload. runsvdir has no "scan
// now": it looks at its folder every 5 s at most. So the first apply
// starts runsvdir on the filled folder (its boot, what a runit user does),
// and later new services wait for its next look; a changed ./run takes
// `sv restart`.
type runitPeer struct {
	ph      *phase
	svdir   string
	current map[string]app
	daemon  *child
}

var runitKind = peerKind{
	name: "runit",
	how:  "runsvdir started on the filled service folder; later additions wait for its ≤ 5 s look (and `sv restart` for a changed run script)",
	new: func(ph *phase) peer {
		return &runitPeer{ph: ph, svdir: filepath.Join(ph.dir, "service"), current: map[string]app{}}
	},
}

func (p *runitPeer) start(context.Context) error {
	if err := os.MkdirAll(p.svdir, 0o755); err != nil {
		return err
	}
	return os.MkdirAll(filepath.Join(p.ph.dir, "stage"), 0o755)
}

func (p *runitPeer) apply(ctx context.Context, apps []app) error {
	_, changed, err := serviceDirs(p.svdir, filepath.Join(p.ph.dir, "stage"), p.current, apps)
	if err != nil {
		return err
	}
	if p.daemon == nil {
		// -P: each runsv in its own session, as Debian's runsvdir-start does.
		cmd := exec.Command("runsvdir", "-P", p.svdir)
		cmd.Stdout, cmd.Stderr = p.ph.log, p.ph.log
		if p.daemon, err = p.ph.r.start(p.ph.name, cmd); err != nil {
			return fmt.Errorf("runsvdir: %w", err)
		}
	}
	for _, name := range changed {
		if err := p.ph.r.runCmd(ctx, p.ph.name, 30*time.Second, p.ph.log, nil, "sv", "restart", filepath.Join(p.svdir, name)); err != nil {
			return err
		}
	}
	return nil
}

// stopAll is one `sv down` naming every service.
func (p *runitPeer) stopAll(ctx context.Context) error {
	args := []string{"sv", "down"}
	for name := range p.current {
		args = append(args, filepath.Join(p.svdir, name))
	}
	return p.ph.r.runCmd(ctx, p.ph.name, 60*time.Second, p.ph.log, nil, args...)
}

func (p *runitPeer) roots() []int {
	if p.daemon == nil {
		return nil
	}
	return []int{p.daemon.cmd.Process.Pid}
}

func (p *runitPeer) close() {
	if p.daemon != nil {
		p.daemon.stop(5 * time.Second)
	}
}
