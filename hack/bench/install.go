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
	"syscall"
	"time"
)

// tools are the peers' programs as found or installed.
type tools struct {
	pm2 string // the pm2 CLI
}

// aptPeers are the peers Debian packages, with the programs the harness
// runs of each.
var aptPeers = map[string]struct {
	pkg  string
	bins []string
}{
	"supervisord": {"supervisor", []string{"supervisord", "supervisorctl"}},
	"s6":          {"s6", []string{"s6-svscan", "s6-svscanctl", "s6-svc"}},
	"runit":       {"runit", []string{"runsvdir", "runsv", "sv"}},
}

// install finds the peers, installing the missing ones: PM2 with npm into
// a prefix under the results folder (no global change), the others with
// apt-get. No package's service is left running: apt runs under a
// policy-rc.d that forbids starting services, and any supervisor the
// install started anyway is stopped by PID.
func (b *bench) install(ctx context.Context, want map[string]bool) (tools, []string) {
	var t tools
	var problems []string
	if want["pm2"] {
		pm2, err := b.findPM2(ctx)
		if err != nil {
			problems = append(problems, "pm2: "+err.Error())
		}
		t.pm2 = pm2
	}
	var pkgs []string
	for peer, p := range aptPeers {
		if !want[peer] {
			continue
		}
		for _, bin := range p.bins {
			if _, err := exec.LookPath(bin); err != nil {
				pkgs = append(pkgs, p.pkg)
				break
			}
		}
	}
	slices.Sort(pkgs)
	if len(pkgs) > 0 {
		if err := b.aptInstall(ctx, pkgs); err != nil {
			problems = append(problems, "apt-get install "+strings.Join(pkgs, " ")+": "+err.Error())
		}
	}
	return t, problems
}

func (b *bench) findPM2(ctx context.Context) (string, error) {
	if p, err := exec.LookPath("pm2"); err == nil {
		return p, nil
	}
	prefix, err := filepath.Abs(filepath.Join(b.cfg.Out, ".tools"))
	if err != nil {
		return "", err
	}
	local := filepath.Join(prefix, "node_modules", ".bin", "pm2")
	if _, err := os.Stat(local); err == nil {
		return local, nil
	}
	if _, err := exec.LookPath("npm"); err != nil {
		return "", fmt.Errorf("neither pm2 nor npm found (install Node.js)")
	}
	b.logf("installing PM2 with npm into %s", prefix)
	if err := os.MkdirAll(prefix, 0o755); err != nil {
		return "", err
	}
	err = b.r.runCmd(ctx, "install", 5*time.Minute, b.installLog(), nil,
		"npm", "install", "--prefix", prefix, "--no-audit", "--no-fund", "pm2")
	if err != nil {
		return "", fmt.Errorf("npm install pm2: %w", err)
	}
	return local, nil
}

func (b *bench) aptInstall(ctx context.Context, pkgs []string) error {
	b.logf("installing %s with apt-get", strings.Join(pkgs, " "))
	const policy = "/usr/sbin/policy-rc.d"
	if _, err := os.Stat(policy); os.IsNotExist(err) {
		if err := os.WriteFile(policy, []byte("#!/bin/sh\n# proclet bench: no service starts during its install\nexit 101\n"), 0o755); err != nil {
			return err
		}
		defer os.Remove(policy)
	}
	before := map[int]bool{}
	for _, pid := range supervisorPIDs() {
		before[pid] = true
	}
	env := []string{"DEBIAN_FRONTEND=noninteractive"}
	args := append([]string{"apt-get", "install", "-y", "--no-install-recommends"}, pkgs...)
	err := b.r.runCmd(ctx, "install", 10*time.Minute, b.installLog(), env, args...)
	if err != nil {
		if err := b.r.runCmd(ctx, "install", 10*time.Minute, b.installLog(), env, "apt-get", "update"); err != nil {
			return err
		}
		err = b.r.runCmd(ctx, "install", 10*time.Minute, b.installLog(), env, args...)
	}
	for _, pid := range supervisorPIDs() {
		if !before[pid] {
			b.logf("stopping %q (pid %d), started by the package install", cmdline(pid), pid)
			_ = syscall.Kill(pid, syscall.SIGTERM)
		}
	}
	return err
}

// supervisorPIDs are the running supervisord, runsvdir and s6-svscan.
func supervisorPIDs() []int {
	var out []int
	for _, pid := range allPIDs() {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid))
		if err != nil {
			continue
		}
		switch strings.TrimSpace(string(b)) {
		case "supervisord", "runsvdir", "s6-svscan":
			out = append(out, pid)
		}
	}
	return out
}

func (b *bench) installLog() *os.File {
	f, err := os.OpenFile(filepath.Join(b.tmp, "install.log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return os.Stderr
	}
	return f
}

// versions reads each peer's version without starting anything (the pm2
// CLI would start a daemon in ~/.pm2).
func (b *bench) versions(ctx context.Context) map[string]string {
	v := map[string]string{}
	if out, err := exec.CommandContext(ctx, b.proclet, "version").Output(); err == nil {
		v["proclet"] = strings.TrimSpace(string(out))
	}
	if b.tools.pm2 != "" {
		if real, err := filepath.EvalSymlinks(b.tools.pm2); err == nil {
			var pkg struct {
				Version string `json:"version"`
			}
			if data, err := os.ReadFile(filepath.Join(filepath.Dir(real), "..", "package.json")); err == nil &&
				json.Unmarshal(data, &pkg) == nil {
				v["pm2"] = pkg.Version
			}
		}
	}
	if out, err := exec.CommandContext(ctx, "node", "--version").Output(); err == nil {
		v["node"] = strings.TrimSpace(string(out))
	}
	for peer, pkg := range map[string]string{"supervisord": "supervisor", "s6": "s6", "runit": "runit"} {
		if out, err := exec.CommandContext(ctx, "dpkg-query", "-W", "-f", "${Version}", pkg).Output(); err == nil {
			v[peer] = strings.TrimSpace(string(out))
		}
	}
	return v
}
