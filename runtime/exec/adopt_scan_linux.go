package exec

// This file holds how adoption recognises its instances in /proc: the
// marker in their environment, and the scan that finds the instances of a
// state dir by their marker when instances.json cannot tell.

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	"proclet.dev/proclet/runtime/procfs"
)

// The marker: every instance's environment names the state dir of the
// daemon that started it, its uid and its revision (env.go). A process
// whose environment lacks them is never adopted and never signalled.
const (
	envUID      = "PROCLET_UID"
	envStateDir = "PROCLET_STATE_DIR"
	envRevision = "PROCLET_REVISION"
)

// verifyInstance checks that pid is the process that started at ticks and
// carries the marker of uid, and returns its environment. Either check
// failing means a recycled PID (or an instance gone): never adopted, never
// signalled.
func verifyInstance(pid int, ticks uint64, uid string) ([]string, error) {
	if pid <= 0 || !procfs.SameProcess(pid, ticks) {
		return nil, fmt.Errorf("pid %d: not the process that started at tick %d", pid, ticks)
	}
	env, err := procfs.ReadEnviron(pid)
	if err != nil {
		return nil, fmt.Errorf("pid %d: environment: %w", pid, err)
	}
	if v, _ := procfs.EnvValue(env, envUID); v != uid {
		return nil, fmt.Errorf("pid %d: %s is %q, not %q", pid, envUID, v, uid)
	}
	return env, nil
}

// markedProc is a process group leader whose environment carries the
// marker of this state dir.
type markedProc struct {
	pid   int
	ticks uint64
	env   []string
	// current: its stdout is the FIFO that <run>/<uid>.stdout names now.
	// A preStop hook shares it but started later; an exec probe, or what a
	// crashed instance left behind (a setsid escapee, whose FIFO was
	// replaced at the restart), does not.
	current bool
}

// better reports whether c is a likelier instance of its uid than p: the
// one writing to the current FIFO, then the oldest.
func (c markedProc) better(p markedProc) bool {
	if c.current != p.current {
		return c.current
	}
	return c.ticks < p.ticks
}

// scanMarked finds, by their marker, the instances of this state dir that
// run on the host: for each uid, the process group leader (an instance
// leads its group; its children share the marker but not the role) most
// likely to be the instance. It reads /proc/<pid>/stat of every process
// and the environment of group leaders only.
func (e *Runtime) scanMarked() map[string]markedProc {
	out := map[string]markedProc{}
	entries, err := os.ReadDir("/proc")
	if err != nil {
		e.log.Error("scanning /proc for instances", "err", err)
		return out
	}
	resolved, _ := filepath.EvalSymlinks(e.stateDir)
	ours := func(dir string) bool {
		if dir == "" {
			return false
		}
		if dir == e.stateDir {
			return true
		}
		r, err := filepath.EvalSymlinks(dir)
		return err == nil && r == resolved
	}
	self := os.Getpid()
	for _, ent := range entries {
		pid, err := strconv.Atoi(ent.Name())
		if err != nil || pid == self {
			continue
		}
		id, err := procfs.ReadIdent(pid)
		// An instance leads its group: its session too (Setsid), or
		// only its group when an older daemon (Setpgid) started it. A
		// descendant that escaped with setsid leads its own as well:
		// better() prefers the instance (the current FIFO, then the
		// oldest: a descendant starts after its ancestor).
		if err != nil || id.Zombie || id.Pgrp != pid {
			continue
		}
		env, err := procfs.ReadEnviron(pid)
		if err != nil {
			continue
		}
		if dir, _ := procfs.EnvValue(env, envStateDir); !ours(dir) {
			continue
		}
		uid, _ := procfs.EnvValue(env, envUID)
		if !fileNameSafe(uid) {
			continue
		}
		c := markedProc{pid: pid, ticks: id.Start, env: env, current: e.writesToFIFO(pid, uid)}
		if prev, ok := out[uid]; ok && !c.better(prev) {
			continue
		}
		out[uid] = c
	}
	return out
}

// writesToFIFO reports whether pid's stdout is uid's stdout FIFO.
func (e *Runtime) writesToFIFO(pid int, uid string) bool {
	a, err := os.Stat("/proc/" + strconv.Itoa(pid) + "/fd/1")
	if err != nil {
		return false
	}
	b, err := os.Stat(fifoPath(e.runDir, uid, "stdout"))
	return err == nil && os.SameFile(a, b)
}
