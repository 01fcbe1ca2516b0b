package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
)

// outputPeerKinds are the peers the output scenario measures: those that
// read their programs' output themselves, in the supervisor's own process.
var outputPeerKinds = []peerKind{supervisordKind, pm2Kind}

// outputPeers are the peers of -peers that the output scenario can run:
// found on the PATH, or installed when -install allows it. A missing one
// is reported and left out, its cells empty.
func (b *bench) outputPeers(ctx context.Context) []peerKind {
	var out []peerKind
	for _, k := range outputPeerKinds {
		if !slices.Contains(b.cfg.Peers, k.name) {
			continue
		}
		if err := b.findOutputPeer(ctx, k.name); err != nil {
			b.logf("%s output: not measured: %v", k.name, err)
			b.missAll(k.name, 0, short(err), outputMetrics()...)
			continue
		}
		b.res.How[k.name] = k.how
		out = append(out, k)
	}
	return out
}

// findOutputPeer finds the programs of peer, installing them if allowed.
func (b *bench) findOutputPeer(ctx context.Context, peer string) error {
	if peer == "pm2" {
		if b.tools.pm2 != "" {
			return nil
		}
		if p, err := exec.LookPath("pm2"); err == nil {
			b.tools.pm2 = p
			return nil
		}
		local := filepath.Join(b.cfg.Out, ".tools", "node_modules", ".bin", "pm2") // an earlier run's install
		if _, err := os.Stat(local); err != nil && !b.cfg.Install {
			return fmt.Errorf("not installed (-install=false)")
		}
		p, err := b.findPM2(ctx)
		b.tools.pm2 = p
		return err
	}
	missing := func() error {
		for _, bin := range aptPeers[peer].bins {
			if _, err := exec.LookPath(bin); err != nil {
				return fmt.Errorf("not installed (%s)", bin)
			}
		}
		return nil
	}
	err := missing()
	if err == nil || !b.cfg.Install {
		return err
	}
	if err := b.aptInstall(ctx, []string{aptPeers[peer].pkg}); err != nil {
		return err
	}
	return missing()
}

// outputMetrics are the metrics the output scenario records for a peer.
func outputMetrics() []string {
	var m []string
	for _, v := range outputVariants {
		m = append(m, "output_"+v.name+"_ms_per_mib", "output_"+v.name+"_pct_of_writer")
	}
	return m
}

// outputPeer is outputProclet for a peer: one program flooding its log
// (no rotation), the supervisor's CPU from the apply until the log holds
// every byte.
func (b *bench) outputPeer(ctx context.Context, k peerKind, v string, line int, size int64) {
	err := b.withPeer(ctx, k, k.name+"-output-"+v, func(p peer, ph *phase) error {
		a := ph.app("flood", floodArgs(size, line)...)
		stdout, stderr := filepath.Join(ph.dir, "flood.stdout.log"), filepath.Join(ph.dir, "flood.stderr.log")
		waitIdle(ctx, func() []int { return supervisorTree(p.roots(), ph.token) })
		before := onCPU(supervisorTree(p.roots(), ph.token))
		if err := applyOutput(ctx, p, a, stdout, stderr); err != nil {
			return err
		}
		defer os.Remove(stdout) // as in outputFloor
		if err := waitFlooded(ctx, stdout, stderr, size); err != nil {
			return err
		}
		reader := onCPU(supervisorTree(p.roots(), ph.token)) - before
		s, ok := ph.marks.latest(a.inst)
		if !ok {
			return fmt.Errorf("no start stamp of the writer")
		}
		b.setOutput(k.name, v, size, reader, onCPU([]int{s.pid}),
			fmt.Sprintf("%d MiB into one log file, by the supervisor's process", size>>20))
		return nil
	})
	if err != nil {
		b.logf("%s output (%s): %v", k.name, v, err)
		b.missAll(k.name, 0, short(err), "output_"+v+"_ms_per_mib", "output_"+v+"_pct_of_writer")
	}
}

// applyOutput runs a under p with its stdout and stderr logged, unrotated,
// to the given files: the peer's own logging, configured as its users do.
func applyOutput(ctx context.Context, p peer, a app, stdout, stderr string) error {
	switch p := p.(type) {
	case *supervisordPeer:
		conf := fmt.Sprintf("[program:%s]\ncommand=%s\nenvironment=PROCLET_INSTANCE=\"%s\"\nautorestart=false\n"+
			"stdout_logfile=%s\nstdout_logfile_maxbytes=0\nstdout_logfile_backups=0\n"+
			"stderr_logfile=%s\nstderr_logfile_maxbytes=0\nstderr_logfile_backups=0\n",
			a.name, strings.Join(a.argv, " "), a.inst, stdout, stderr)
		if err := writeAtomic(p.progs, []byte(conf), 0o644); err != nil {
			return err
		}
		return p.ctl(ctx, p.ph.b.cmdTimeout(1), "update")
	case *pm2Peer:
		eco := map[string]any{"apps": []map[string]any{{
			"name": a.name, "script": a.argv[0], "args": a.argv[1:], "interpreter": "none",
			"exec_mode": "fork", "autorestart": false, "env": map[string]string{"PROCLET_INSTANCE": a.inst},
			"out_file": stdout, "error_file": stderr, "merge_logs": true,
		}}}
		data, err := json.MarshalIndent(eco, "", "  ")
		if err != nil {
			return err
		}
		if err := writeAtomic(p.eco, data, 0o644); err != nil {
			return err
		}
		return p.pm2(ctx, p.ph.b.cmdTimeout(1), "start", p.eco)
	}
	return fmt.Errorf("no output logging set up for %T", p)
}
