package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// pm2Peer is PM2 with its own PM2_HOME in the phase folder: an ecosystem
// file of fork-mode apps, applied with `pm2 start eco.json` (which also
// restarts the apps already running: PM2 has no apply-only-the-changes).
type pm2Peer struct {
	ph   *phase
	home string
	eco  string
}

var pm2Kind = peerKind{
	name: "pm2",
	how:  "`pm2 start ecosystem.json` (daemon already up)",
	new: func(ph *phase) peer {
		return &pm2Peer{ph: ph, home: filepath.Join(ph.dir, "home"), eco: filepath.Join(ph.dir, "ecosystem.json")}
	},
}

func (p *pm2Peer) pm2(ctx context.Context, timeout time.Duration, args ...string) error {
	return p.ph.r.runCmd(ctx, p.ph.name, timeout, p.ph.log, []string{"PM2_HOME=" + p.home},
		append([]string{p.ph.b.tools.pm2}, args...)...)
}

// start spawns the daemon (any pm2 command does; ping does nothing else).
func (p *pm2Peer) start(ctx context.Context) error {
	return p.pm2(ctx, 60*time.Second, "ping")
}

func (p *pm2Peer) apply(ctx context.Context, apps []app) error {
	type pmApp struct {
		Name        string            `json:"name"`
		Script      string            `json:"script"`
		Args        []string          `json:"args"`
		Interpreter string            `json:"interpreter"`
		ExecMode    string            `json:"exec_mode"`
		Autorestart bool              `json:"autorestart"`
		Env         map[string]string `json:"env"`
	}
	var eco struct {
		Apps []pmApp `json:"apps"`
	}
	for _, a := range apps {
		eco.Apps = append(eco.Apps, pmApp{Name: a.name, Script: a.argv[0], Args: a.argv[1:], Interpreter: "none",
			ExecMode: "fork", Autorestart: true, Env: map[string]string{"PROCLET_INSTANCE": a.inst}})
	}
	b, err := json.MarshalIndent(eco, "", "  ")
	if err != nil {
		return err
	}
	if err := writeAtomic(p.eco, b, 0o644); err != nil {
		return err
	}
	return p.pm2(ctx, p.ph.b.cmdTimeout(len(apps)), "start", p.eco)
}

func (p *pm2Peer) stopAll(ctx context.Context) error {
	return p.pm2(ctx, p.ph.b.cmdTimeout(1000), "stop", "all")
}

// roots is the God daemon, from PM2_HOME/pm2.pid.
func (p *pm2Peer) roots() []int {
	b, err := os.ReadFile(filepath.Join(p.home, "pm2.pid"))
	if err != nil {
		return nil
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		return nil
	}
	return []int{pid}
}

// close kills the daemon: `pm2 kill` would stop the apps one at a time
// first, a minute at 1000; the phase's sweep kills the apps.
func (p *pm2Peer) close() {
	for _, pid := range p.roots() {
		if alive(pid) && environHas(pid, p.ph.r.mark(p.ph.name), false) {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	}
}
