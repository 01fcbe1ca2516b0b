package procfs

// This file holds what adoption reads of /proc: a process's identity (its
// start time, group, session), its environment, and the host's boot time
// that start times count from.

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// Ident is what /proc/<pid>/stat says of a process's identity.
type Ident struct {
	PPid          int // the parent: a tree is walked up by it
	Pgrp, Session int
	Start         uint64 // starttime, clock ticks since boot
	Zombie        bool   // exited, not yet reaped: gone for adoption
}

func ReadIdent(pid int) (Ident, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return Ident{}, err
	}
	return parseProcIdent(b)
}

// parseProcIdent reads the fields after the command name (which may hold
// spaces and parentheses: they start after its last ')'): state (0), ppid
// (1), pgrp (2), session (3) and starttime (19).
func parseProcIdent(b []byte) (Ident, error) {
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return Ident{}, errors.New("parse stat: no command name")
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 20 || f[0] == "" {
		return Ident{}, fmt.Errorf("parse stat: %d fields", len(f))
	}
	ppid, err0 := strconv.Atoi(f[1])
	pgrp, err1 := strconv.Atoi(f[2])
	session, err2 := strconv.Atoi(f[3])
	start, err3 := strconv.ParseUint(f[19], 10, 64)
	if err := errors.Join(err0, err1, err2, err3); err != nil {
		return Ident{}, fmt.Errorf("parse stat: %w", err)
	}
	return Ident{PPid: ppid, Pgrp: pgrp, Session: session, Start: start, Zombie: f[0] == "Z" || f[0] == "X"}, nil
}

// StartTicks returns pid's start time in clock ticks, 0 when it cannot
// be read (a 0 never matches a live process: adoption then falls back to
// the marker).
func StartTicks(pid int) uint64 {
	id, err := ReadIdent(pid)
	if err != nil {
		return 0
	}
	return id.Start
}

// SameProcess reports whether pid is still the live process that started
// at ticks.
func SameProcess(pid int, ticks uint64) bool {
	id, err := ReadIdent(pid)
	return err == nil && !id.Zombie && ticks != 0 && id.Start == ticks
}

// ReadEnviron returns the environment pid was exec'd with.
func ReadEnviron(pid int) ([]string, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/environ")
	if err != nil {
		return nil, err
	}
	return strings.Split(strings.TrimRight(string(b), "\x00"), "\x00"), nil
}

// EnvValue returns the value of name in env (the last one wins, as getenv
// finds the first but a duplicate is ours at the end).
func EnvValue(env []string, name string) (string, bool) {
	v, found := "", false
	for _, kv := range env {
		if n, val, ok := strings.Cut(kv, "="); ok && n == name {
			v, found = val, true
		}
	}
	return v, found
}

// BootTime is when the host booted, the origin of the start times in
// ticks: now less /proc/uptime, to 10 ms (btime of /proc/stat is whole
// seconds). Both count from the same clock (CLOCK_BOOTTIME).
func BootTime() (time.Time, error) {
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

// TicksTime turns a start time in ticks into a wall clock time (to about
// 20 ms).
func TicksTime(boot time.Time, ticks uint64) time.Time {
	return boot.Add(time.Duration(ticks) * (time.Second / ClockTicks))
}
