package runtime

// This file holds the pure half of the sampler: parsing what /proc says and
// accounting CPU time across passes. The I/O half is sample_linux.go.

import (
	"bytes"
	"fmt"
	"strconv"
)

// clockTicks is USER_HZ, the unit of the CPU times in /proc/<pid>/stat. The
// kernel fixes it at 100 for user space on every architecture Go supports
// on Linux, whatever CONFIG_HZ is (sysconf(_SC_CLK_TCK) returns the same).
const clockTicks = 100

// procSample is what one pass needs of /proc/<pid>/stat.
type procSample struct {
	pid, ppid, pgrp int
	start           uint64 // starttime, in ticks since boot: (pid, start) is a process's identity
	self            uint64 // utime+stime, ticks
	children        uint64 // cutime+cstime: the reaped children's CPU, ticks
	rssPages        int64
}

// parseStat parses the content of /proc/<pid>/stat. The command name, in
// parentheses, may hold spaces and parentheses itself: the fields are read
// after its last ')'.
func parseStat(b []byte) (procSample, error) {
	var p procSample
	open := bytes.IndexByte(b, '(')
	end := bytes.LastIndexByte(b, ')')
	if open < 1 || end < open {
		return p, fmt.Errorf("parse stat: no command name")
	}
	pid, err := strconv.Atoi(string(bytes.TrimSpace(b[:open])))
	if err != nil {
		return p, fmt.Errorf("parse stat: pid: %w", err)
	}
	p.pid = pid
	// Fields after the name, from 0: state ppid pgrp session tty_nr tpgid
	// flags minflt cminflt majflt cmajflt utime(11) stime cutime cstime
	// priority nice num_threads itrealvalue starttime(19) vsize rss(21).
	var f [22][]byte
	rest := b[end+1:]
	for i := range f {
		rest = bytes.TrimLeft(rest, " ")
		j := bytes.IndexByte(rest, ' ')
		if j < 0 {
			j = len(bytes.TrimRight(rest, "\n"))
			if i != len(f)-1 || j == 0 {
				return p, fmt.Errorf("parse stat %d: %d fields, want at least %d", pid, i, len(f)+2)
			}
		}
		f[i], rest = rest[:j], rest[j:]
	}
	var u [8]uint64
	for k, i := range []int{1, 2, 11, 12, 13, 14, 19, 21} {
		// rss is signed in the kernel's format string but never negative.
		if u[k], err = strconv.ParseUint(string(f[i]), 10, 64); err != nil {
			return p, fmt.Errorf("parse stat %d: field %d: %w", pid, i+3, err)
		}
	}
	p.ppid, p.pgrp = int(u[0]), int(u[1])
	p.self, p.children = u[2]+u[3], u[4]+u[5]
	p.start, p.rssPages = u[6], int64(u[7])
	return p, nil
}

// procKey identifies a process across passes: a pid alone may be reused.
type procKey struct {
	pid   int
	start uint64
}

// procSeen is what the accounting remembers of a process from one pass to
// the next.
type procSeen struct {
	total  uint64  // self+children at the last pass
	parent procKey // its parent then; zero when the parent was not in the tree
}

// cpuAccount turns passes over an instance's process tree into a counter
// of CPU ticks that never goes down, though processes come and go.
//
// It counts, for every process of the tree, its own CPU time plus that of
// the children it reaped (cutime+cstime), adding per process the growth
// since the last pass (the whole amount for a process new since then: a
// forked process starts at zero). So a short-lived child that lived and
// died between two passes is still counted, through its parent's cutime.
// When a child that was seen disappears while its parent (in the tree) is
// still there, the parent reaped it, and the parent's cutime now holds the
// child's whole time, part of which was counted already through the child:
// that part is subtracted from the pass's growth. If the parent's stat was
// read just before it reaped the child, the subtraction waits for the next
// pass (one pass at most: a child reaped by a parent that ignores SIGCHLD
// adds nothing to cutime and must not hold the counter back forever).
//
// What it misses: the time a process spent between the last pass and its
// exit when its reaper is outside the tree (an orphan reparented to init,
// or the instance's main process, reaped by the daemon).
type cpuAccount struct {
	ticks uint64 // the counter
	seen  map[procKey]procSeen
	debt  uint64 // already-counted time of reaped children, not yet offset
}

// update takes the tree as read in this pass and returns the counter.
func (a *cpuAccount) update(tree []procSample) uint64 {
	next := make(map[procKey]procSeen, len(tree))
	byPID := make(map[int]procKey, len(tree))
	for _, p := range tree {
		byPID[p.pid] = procKey{p.pid, p.start}
	}
	var gain uint64
	for _, p := range tree {
		k := procKey{p.pid, p.start}
		total := p.self + p.children
		if prev, ok := a.seen[k]; !ok {
			gain += total
		} else if total > prev.total {
			gain += total - prev.total
		}
		s := procSeen{total: total}
		if pk, ok := byPID[p.ppid]; ok {
			s.parent = pk
		}
		next[k] = s
	}
	var reaped uint64
	for k, s := range a.seen {
		if _, alive := next[k]; alive || s.parent == (procKey{}) {
			continue
		}
		if _, parentAlive := next[s.parent]; parentAlive {
			reaped += s.total
		}
	}
	owed := a.debt + reaped
	if gain >= owed {
		gain, a.debt = gain-owed, 0
	} else {
		a.debt = min(owed-gain, reaped)
		gain = 0
	}
	a.ticks += gain
	a.seen = next
	return a.ticks
}
