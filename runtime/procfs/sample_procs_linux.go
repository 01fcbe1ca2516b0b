package procfs

// The process half of a sampling pass: listing the host's processes,
// reading the stat of those that matter, and grouping them into the
// instances' trees (the sampler's doc comment says what is read when).

import (
	"slices"

	"golang.org/x/sys/unix"
)

// procEntry is what the sampler keeps of one host process between passes.
type procEntry struct {
	ino    uint64     // of its /proc/<pid> entry: another process under the same pid has another
	fd     int        // its stat, held open while it is in a tree; -1 when not held
	p      procSample // as last read
	fresh  bool       // p was read in this pass
	tree   bool       // it was in a tree at the last pass
	listed uint64     // the last full listing (sampler.listed) that had it
	seen   int        // the last pass (sampler.passes) that listed it
	read   int        // the last pass that read it
}

// keepOutside is how many passes the entry of a process outside every tree
// is kept after it was listed: long enough for the main process of an
// instance started during a pass to be a target at the next one (its
// entry is then read afresh); after that, only a full pass would see it
// join a tree. So a host that runs thousands of short processes between
// two full passes does not grow the sampler.
const keepOutside = 3

// readTrees lists the host's processes (root open as dirfd), reads those
// that matter (all of them on a full pass), and returns the targets' trees
// by target pid.
func (s *Sampler) readTrees(dirfd int, targets []Target, full bool) (map[int][]procSample, error) {
	if _, err := s.readProcs(dirfd, full); err != nil {
		return nil, err
	}
	// A process read from the cache that resolves into a tree (the main
	// process of an instance started just after the last pass listed it,
	// or one that joined a group) is read afresh, and the trees are found
	// again with its current group and parent (which may bring in another
	// through it).
	for range 8 {
		s.own(targets)
		stale := false
		for i, o := range s.owners {
			if e := s.entries[i]; o != 0 && !e.fresh {
				s.refresh(dirfd, i)
				stale = true
			}
		}
		if !stale {
			break
		}
	}
	// Hold open the stat of the processes in a tree, and only theirs.
	for i, o := range s.owners {
		e := s.entries[i]
		e.tree = o != 0
		switch {
		case o == 0 && e.fd >= 0:
			s.release(e)
		case o != 0 && e.fd < 0 && s.held < s.maxHeld:
			s.path = appendStatPath(s.path[:0], s.procs[i].pid)
			if fd, err := openat(dirfd, s.path, unix.O_RDONLY|unix.O_CLOEXEC); err == nil {
				e.fd = fd
				s.held++
			}
		}
	}
	return s.group(targets), nil
}

// parseInto parses a stat read for pid; on a parse error (or a stat of
// another pid) it keeps prev and reports it stale.
func (s *Sampler) parseInto(prev procSample, b []byte, pid int) (procSample, bool) {
	p, err := parseStat(b)
	if err != nil || p.pid != pid {
		return prev, false
	}
	return p, true
}

// refresh reads procs[i] again, not from the cache.
func (s *Sampler) refresh(dirfd, i int) {
	e, pid := s.entries[i], s.procs[i].pid
	s.path = appendStatPath(s.path[:0], pid)
	b, err := s.readFileAt(dirfd, s.path)
	if err != nil {
		// Gone since the listing: it belongs to nobody this pass.
		s.procs[i] = procSample{pid: pid, ppid: 0, pgrp: 0}
		e.p = procSample{}
		return
	}
	s.procs[i], e.fresh = s.parseInto(s.procs[i], b, pid)
	e.p = s.procs[i]
}

// release closes e's stat if it is held.
func (s *Sampler) release(e *procEntry) {
	if e.fd >= 0 {
		unix.Close(e.fd)
		e.fd = -1
		s.held--
	}
}

// appendStatPath appends "<pid>/stat\x00".
func appendStatPath(b []byte, pid int) []byte {
	var d [20]byte
	i := len(d)
	for {
		i--
		d[i] = byte('0' + pid%10)
		if pid /= 10; pid == 0 {
			break
		}
	}
	return append(append(b, d[i:]...), "/stat\x00"...)
}

// pread reads the stat open as fd from its start into s.buf: a seq_file
// read at offset 0 generates the content anew.
func (s *Sampler) pread(fd int) ([]byte, error) {
	for {
		n, err := unix.Pread(fd, s.buf, 0)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return nil, err
		}
		if n < len(s.buf) {
			return s.buf[:n], nil
		}
		s.buf = slices.Grow(s.buf, len(s.buf))[:2*len(s.buf)]
	}
}

// readFileAt reads a small file, path (NUL-terminated) relative to dirfd,
// into s.buf without allocating. A procfs file (seq_file) is generated
// whole by the first read when it fits the buffer: a short read is the
// whole file, and only a full buffer is read again, larger, to EOF.
func (s *Sampler) readFileAt(dirfd int, path []byte) ([]byte, error) {
	fd, err := openat(dirfd, path, unix.O_RDONLY|unix.O_CLOEXEC)
	if err != nil {
		return nil, err
	}
	defer unix.Close(fd)
	n := 0
	for {
		m, err := unix.Read(fd, s.buf[n:])
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return nil, err
		}
		n += m
		if m == 0 || n < len(s.buf) {
			return s.buf[:n], nil
		}
		s.buf = slices.Grow(s.buf, len(s.buf))[:2*len(s.buf)]
	}
}

// own sets s.owners: for each of s.procs, the pid of the target whose
// tree it is in (by process group, else by its parent chain), 0 for none.
// Its maps are the sampler's, cleared and reused from pass to pass.
func (s *Sampler) own(targets []Target) {
	if s.leader == nil {
		s.leader, s.byPID, s.owner = map[int]bool{}, map[int]int{}, map[int]int{}
	}
	leader, byPID, owner := s.leader, s.byPID, s.owner // owner: pid -> target pid, 0 for none
	clear(leader)
	clear(byPID)
	clear(owner)
	for _, t := range targets {
		leader[t.PID] = true
	}
	procs := s.procs
	for i, p := range procs {
		byPID[p.pid] = i
		if leader[p.pgrp] {
			owner[p.pid] = p.pgrp
		}
	}
	var resolve func(pid, depth int) int
	resolve = func(pid, depth int) int {
		if o, ok := owner[pid]; ok {
			return o
		}
		o := 0
		if i, ok := byPID[pid]; ok && pid > 1 && depth < 64 {
			o = resolve(procs[i].ppid, depth+1)
		}
		owner[pid] = o
		return o
	}
	s.owners = s.owners[:0]
	for _, p := range procs {
		s.owners = append(s.owners, resolve(p.pid, 0))
	}
}

// group returns the trees of s.procs by target pid, from s.owners. The
// map and the trees are the sampler's, valid until the next pass: the
// trees are windows on one array, in the order of the listing.
func (s *Sampler) group(targets []Target) map[int][]procSample {
	if s.trees == nil {
		s.trees = make(map[int][]procSample, len(targets))
	}
	clear(s.trees)
	s.order = s.order[:0]
	for i, o := range s.owners {
		if o != 0 {
			s.order = append(s.order, i)
		}
	}
	slices.SortStableFunc(s.order, func(a, b int) int { return s.owners[a] - s.owners[b] })
	s.grouped = slices.Grow(s.grouped[:0], len(s.order))
	for k := 0; k < len(s.order); {
		o, start := s.owners[s.order[k]], len(s.grouped)
		for ; k < len(s.order) && s.owners[s.order[k]] == o; k++ {
			s.grouped = append(s.grouped, s.procs[s.order[k]])
		}
		s.trees[o] = s.grouped[start:len(s.grouped):len(s.grouped)]
	}
	return s.trees
}
