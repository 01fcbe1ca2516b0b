package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// supervisordPeer is supervisord in the foreground on its own config: the
// apps are [program:x] sections of one included file, applied with
// `supervisorctl update` (which restarts only the changed programs).
type supervisordPeer struct {
	ph     *phase
	conf   string
	progs  string
	daemon *child
}

var supervisordKind = peerKind{
	name: "supervisord",
	how:  "`supervisorctl update` (daemon already up)",
	new: func(ph *phase) peer {
		return &supervisordPeer{ph: ph, conf: filepath.Join(ph.dir, "supervisord.conf"),
			progs: filepath.Join(ph.dir, "conf.d", "bench.conf")}
	},
}

func (p *supervisordPeer) start(ctx context.Context) error {
	d := p.ph.dir
	if err := os.MkdirAll(filepath.Join(d, "conf.d"), 0o755); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Join(d, "logs"), 0o755); err != nil {
		return err
	}
	conf := fmt.Sprintf(`[unix_http_server]
file=%[1]s/supervisor.sock

[supervisord]
nodaemon=true
user=root
logfile=%[1]s/supervisord.log
pidfile=%[1]s/supervisord.pid
childlogdir=%[1]s/logs
minfds=16384
minprocs=4096

[rpcinterface:supervisor]
supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface

[supervisorctl]
serverurl=unix://%[1]s/supervisor.sock

[include]
files = %[1]s/conf.d/*.conf
`, d)
	if err := os.WriteFile(p.conf, []byte(conf), 0o644); err != nil {
		return err
	}
	cmd := exec.Command("supervisord", "-c", p.conf)
	cmd.Stdout, cmd.Stderr = p.ph.log, p.ph.log
	var err error
	if p.daemon, err = p.ph.r.start(p.ph.name, cmd); err != nil {
		return fmt.Errorf("supervisord: %w", err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		if err := p.ctl(ctx, 10*time.Second, "pid"); err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("supervisord not answering within 30s (see %s)", p.ph.log.Name())
		}
		select {
		case <-p.daemon.done:
			return fmt.Errorf("supervisord exited at start: %v", p.daemon.err)
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func (p *supervisordPeer) ctl(ctx context.Context, timeout time.Duration, args ...string) error {
	return p.ph.r.runCmd(ctx, p.ph.name, timeout, p.ph.log, nil, append([]string{"supervisorctl", "-c", p.conf}, args...)...)
}

func (p *supervisordPeer) apply(ctx context.Context, apps []app) error {
	var sb strings.Builder
	for _, a := range apps {
		fmt.Fprintf(&sb, "[program:%s]\ncommand=%s\nenvironment=PROCLET_INSTANCE=\"%s\"\nautorestart=true\nstopwaitsecs=5\n\n",
			a.name, strings.Join(a.argv, " "), a.inst)
	}
	if err := writeAtomic(p.progs, []byte(sb.String()), 0o644); err != nil {
		return err
	}
	return p.ctl(ctx, p.ph.b.cmdTimeout(len(apps)), "update")
}

func (p *supervisordPeer) stopAll(ctx context.Context) error {
	return p.ctl(ctx, p.ph.b.cmdTimeout(1000), "stop", "all")
}

func (p *supervisordPeer) roots() []int {
	if p.daemon == nil {
		return nil
	}
	return []int{p.daemon.cmd.Process.Pid}
}

func (p *supervisordPeer) close() {
	if p.daemon != nil {
		p.daemon.stop(5 * time.Second)
	}
}
