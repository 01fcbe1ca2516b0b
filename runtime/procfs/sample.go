package procfs

// This file holds the pure half of the sampler: parsing what /proc says and
// accounting CPU time across passes. The I/O half is sampler_linux.go.

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"math"
	"slices"
)

// ClockTicks is USER_HZ, the unit of the CPU times in /proc/<pid>/stat. The
// kernel fixes it at 100 for user space on every architecture Go supports
// on Linux, whatever CONFIG_HZ is (sysconf(_SC_CLK_TCK) returns the same).
const ClockTicks = 100

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
// after its last ')'. It does not allocate (one runs per host process and
// pass).
func parseStat(b []byte) (procSample, error) {
	var p procSample
	open := bytes.IndexByte(b, '(')
	end := bytes.LastIndexByte(b, ')')
	if open < 1 || end < open {
		return p, errors.New("parse stat: no command name")
	}
	pid, ok := parseDecimal(bytes.TrimSpace(b[:open]))
	if !ok {
		return p, errors.New("parse stat: bad pid")
	}
	p.pid = int(pid)
	// Fields after the name, from 0: state ppid pgrp session tty_nr tpgid
	// flags minflt cminflt majflt cmajflt utime(11) stime cutime cstime
	// priority nice num_threads itrealvalue starttime(19) vsize rss(21).
	var u [8]uint64
	k := 0
	rest := b[end+1:]
	for i := 0; i <= statRSS; i++ {
		rest = bytes.TrimLeft(rest, " ")
		j := bytes.IndexByte(rest, ' ')
		if j < 0 {
			j = len(bytes.TrimRight(rest, "\n"))
			if i != statRSS || j == 0 {
				return p, fmt.Errorf("parse stat %d: %d fields, want at least %d", pid, i, statRSS+3)
			}
		}
		if statWanted&(1<<i) != 0 {
			// rss is signed in the kernel's format string but never negative.
			if u[k], ok = parseDecimal(rest[:j]); !ok {
				return p, fmt.Errorf("parse stat %d: field %d is not a number", pid, i+3)
			}
			k++
		}
		rest = rest[j:]
	}
	p.ppid, p.pgrp = int(u[0]), int(u[1])
	p.self, p.children = u[2]+u[3], u[4]+u[5]
	p.start, p.rssPages = u[6], int64(u[7])
	return p, nil
}

// The fields of /proc/<pid>/stat parseStat keeps, counted from the one
// after the command name: ppid pgrp utime stime cutime cstime starttime
// rss, in this order.
const (
	statRSS    = 21
	statWanted = 1<<1 | 1<<2 | 1<<11 | 1<<12 | 1<<13 | 1<<14 | 1<<19 | 1<<statRSS
)

// parseDecimal parses a non-empty unsigned decimal that fits 64 bits.
func parseDecimal(b []byte) (uint64, bool) {
	if len(b) == 0 || len(b) > 20 {
		return 0, false
	}
	var v uint64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		d := uint64(c - '0')
		if v > (math.MaxUint64-d)/10 {
			return 0, false
		}
		v = v*10 + d
	}
	return v, true
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
	ticks uint64
	seen  []seenEntry // sorted by key: a map of one process costs ~300 B, times two, times 1000 instances
	spare []seenEntry // the pass before's seen, reused for the next
	debt  uint64      // already-counted time of reaped children, not yet offset
}

// seenEntry is one process of a pass.
type seenEntry struct {
	key  procKey
	seen procSeen
}

func compareKeys(a, b procKey) int {
	if a.pid != b.pid {
		return a.pid - b.pid
	}
	return cmp.Compare(a.start, b.start)
}

// find returns what set (sorted) holds for k.
func find(set []seenEntry, k procKey) (procSeen, bool) {
	i, ok := slices.BinarySearchFunc(set, k, func(e seenEntry, k procKey) int { return compareKeys(e.key, k) })
	if !ok {
		return procSeen{}, false
	}
	return set[i].seen, true
}

// update takes the tree as read in this pass and returns the counter. It
// allocates nothing in the steady state of a tree of a few processes (one
// runs per instance and pass).
func (a *cpuAccount) update(tree []procSample) uint64 {
	next := a.spare[:0]
	var byPID map[int]procKey // pid -> key, for a larger tree
	if len(tree) > 8 {
		byPID = make(map[int]procKey, len(tree))
		for _, p := range tree {
			byPID[p.pid] = procKey{p.pid, p.start}
		}
	}
	keyOf := func(pid int) (procKey, bool) {
		if byPID != nil {
			k, ok := byPID[pid]
			return k, ok
		}
		for _, q := range tree {
			if q.pid == pid {
				return procKey{q.pid, q.start}, true
			}
		}
		return procKey{}, false
	}
	var gain uint64
	for _, p := range tree {
		k := procKey{p.pid, p.start}
		total := p.self + p.children
		if prev, ok := find(a.seen, k); !ok {
			gain += total
		} else if total > prev.total {
			gain += total - prev.total
		}
		s := procSeen{total: total}
		if pk, ok := keyOf(p.ppid); ok {
			s.parent = pk
		}
		next = append(next, seenEntry{key: k, seen: s})
	}
	slices.SortFunc(next, func(x, y seenEntry) int { return compareKeys(x.key, y.key) })
	var reaped uint64
	for _, e := range a.seen {
		if _, alive := find(next, e.key); alive || e.seen.parent == (procKey{}) {
			continue
		}
		if _, parentAlive := find(next, e.seen.parent); parentAlive {
			reaped += e.seen.total
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
	a.seen, a.spare = next, a.seen
	return a.ticks
}
