package exec

// This file holds what adoption reads of /proc: a process's identity (its
// start time), its environment (the marker), and the scan that finds the
// instances of a state dir by their marker when instances.json cannot tell.

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// The marker: every instance's environment names the state dir of the
// daemon that started it, its uid and its revision (env.go). A process
// whose environment lacks them is never adopted and never signalled.
const (
	envUID      = "PROCLET_UID"
	envStateDir = "PROCLET_STATE_DIR"
	envRevision = "PROCLET_REVISION"
)

// procIdent is what /proc/<pid>/stat says of a process's identity.
type procIdent struct {
	pgrp, session int
	start         uint64 // starttime, clock ticks since boot
	zombie        bool   // exited, not yet reaped: gone for adoption
}

func readProcIdent(pid int) (procIdent, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return procIdent{}, err
	}
	return parseProcIdent(b)
}

// parseProcIdent reads the fields after the command name (which may hold
// spaces and parentheses: they start after its last ')'): state (0), pgrp
// (2), session (3) and starttime (19).
func parseProcIdent(b []byte) (procIdent, error) {
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return procIdent{}, errors.New("parse stat: no command name")
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 20 || f[0] == "" {
		return procIdent{}, fmt.Errorf("parse stat: %d fields", len(f))
	}
	pgrp, err1 := strconv.Atoi(f[2])
	session, err2 := strconv.Atoi(f[3])
	start, err3 := strconv.ParseUint(f[19], 10, 64)
	if err := errors.Join(err1, err2, err3); err != nil {
		return procIdent{}, fmt.Errorf("parse stat: %w", err)
	}
	return procIdent{pgrp: pgrp, session: session, start: start, zombie: f[0] == "Z" || f[0] == "X"}, nil
}

// startTicksOf returns pid's start time in clock ticks, 0 when it cannot
// be read (a 0 never matches a live process: adoption then falls back to
// the marker).
func startTicksOf(pid int) uint64 {
	id, err := readProcIdent(pid)
	if err != nil {
		return 0
	}
	return id.start
}

// sameProcess reports whether pid is still the live process that started
// at ticks.
func sameProcess(pid int, ticks uint64) bool {
	id, err := readProcIdent(pid)
	return err == nil && !id.zombie && ticks != 0 && id.start == ticks
}

// readEnviron returns the environment pid was exec'd with.
func readEnviron(pid int) ([]string, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/environ")
	if err != nil {
		return nil, err
	}
	return strings.Split(strings.TrimRight(string(b), "\x00"), "\x00"), nil
}

// envValue returns the value of name in env (the last one wins, as getenv
// finds the first but a duplicate is ours at the end).
func envValue(env []string, name string) (string, bool) {
	v, found := "", false
	for _, kv := range env {
		if n, val, ok := strings.Cut(kv, "="); ok && n == name {
			v, found = val, true
		}
	}
	return v, found
}

// verifyInstance checks that pid is the process that started at ticks and
// carries the marker of uid, and returns its environment. Either check
// failing means a recycled PID (or an instance gone): never adopted, never
// signalled.
func verifyInstance(pid int, ticks uint64, uid string) ([]string, error) {
	if pid <= 0 || !sameProcess(pid, ticks) {
		return nil, fmt.Errorf("pid %d: not the process that started at tick %d", pid, ticks)
	}
	env, err := readEnviron(pid)
	if err != nil {
		return nil, fmt.Errorf("pid %d: environment: %w", pid, err)
	}
	if v, _ := envValue(env, envUID); v != uid {
		return nil, fmt.Errorf("pid %d: %s is %q, not %q", pid, envUID, v, uid)
	}
	return env, nil
}

// bootTime is when the host booted, the origin of the start times in
// ticks: now less /proc/uptime, to 10 ms (btime of /proc/stat is whole
// seconds). Both count from the same clock (CLOCK_BOOTTIME).
func bootTime() (time.Time, error) {
	now := time.Now()
	b, err := os.ReadFile("/proc/uptime")
	if err != nil {
		return time.Time{}, err
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return time.Time{}, errors.New("/proc/uptime is empty")
	}
	up, err := strconv.ParseFloat(f[0], 64)
	if err != nil {
		return time.Time{}, fmt.Errorf("/proc/uptime: %w", err)
	}
	return now.Add(-time.Duration(up * float64(time.Second))), nil
}

// ticksTime turns a start time in ticks into a wall clock time (to about
// 20 ms).
func ticksTime(boot time.Time, ticks uint64) time.Time {
	return boot.Add(time.Duration(ticks) * (time.Second / clockTicks))
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
		id, err := readProcIdent(pid)
		// An instance leads its group: its session too (Setsid), or
		// only its group when an older daemon (Setpgid) started it. A
		// descendant that escaped with setsid leads its own as well:
		// better() prefers the instance (the current FIFO, then the
		// oldest: a descendant starts after its ancestor).
		if err != nil || id.zombie || id.pgrp != pid {
			continue
		}
		env, err := readEnviron(pid)
		if err != nil {
			continue
		}
		if dir, _ := envValue(env, envStateDir); !ours(dir) {
			continue
		}
		uid, _ := envValue(env, envUID)
		if !fileNameSafe(uid) {
			continue
		}
		c := markedProc{pid: pid, ticks: id.start, env: env, current: e.writesToFIFO(pid, uid)}
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
