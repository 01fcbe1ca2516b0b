package procfs

// Listing the host's processes for a sampling pass: all of them, only
// those new since the last listing, or none (the sampler's doc comment
// says when).

import (
	"bytes"
	"errors"
	"fmt"
	"io"

	"golang.org/x/sys/unix"
)

// readProcs reads the processes of the host, in the directory open as
// dirfd (root), into s.procs and s.entries, and returns s.procs (valid
// until the next pass). A process held open is read with pread, a new one
// (or one whose /proc entry changed inode: a reused pid) with openat,
// read, close; any other is taken from its last read (entry.fresh false),
// except on a full pass, which reads every process.
//
// Which processes are looked at: on a full pass (or when the last pid the
// kernel allocated, in /proc/loadavg, went down: pids wrapped) every entry
// of the listing; otherwise those of the last listings, plus, when that
// last pid moved, the entries of the pids allocated since (procfs lists
// pids in order and seeks by pid). When it did not move, no process was
// created, and nothing is listed. A process that exited is found gone by
// its read; one outside every tree is forgotten keepOutside passes after
// it was listed.
func (s *Sampler) readProcs(dirfd int, full bool) ([]procSample, error) {
	s.procs, s.entries = s.procs[:0], s.entries[:0]
	lastPID, known := s.lastPID(dirfd)
	var err error
	switch {
	case full || !known || s.listed == 0 || lastPID < s.lastPIDSeen:
		err = s.listAll(dirfd, full)
	case lastPID > s.lastPIDSeen && s.tgidOffset > 0:
		err = s.listRange(dirfd, s.lastPIDSeen+1, lastPID)
		if errors.Is(err, errNoPidSeek) {
			s.tgidOffset = 0
			s.procs, s.entries = s.procs[:0], s.entries[:0]
			err = s.listAll(dirfd, false)
		}
	case lastPID > s.lastPIDSeen:
		err = s.listAll(dirfd, false)
	}
	if err != nil {
		return nil, fmt.Errorf("sample: list %s: %w", s.root, err)
	}
	s.lastPIDSeen = lastPID // 0 when unknown
	// The processes of the last listings not read yet in this pass, but
	// those outside every tree listed too long ago (keepOutside).
	kept := s.pids[:0]
	for _, pid := range s.pids {
		e := s.known[pid]
		if e == nil {
			continue
		}
		if e.read != s.passes {
			if !e.tree && e.fd < 0 && s.passes-e.seen > keepOutside {
				delete(s.known, pid)
				continue
			}
			s.readEntry(dirfd, pid, e, false)
		}
		if s.known[pid] != nil {
			kept = append(kept, pid)
		}
	}
	s.pids = kept
	return s.procs, nil
}

// errNoPidSeek: root does not list pids in order by offset (not procfs).
var errNoPidSeek = errors.New("the directory does not seek by pid")

// listAll lists every entry of root, reads each process (afresh if
// fresh), forgets those no longer listed, and learns how procfs turns a
// pid into a directory offset (tgidOffset).
func (s *Sampler) listAll(dirfd int, fresh bool) error {
	if _, err := unix.Seek(dirfd, 0, io.SeekStart); err != nil {
		return err
	}
	s.listed++
	s.pids = s.pids[:0]
	var offset, prevOff int64
	prevPID, consistent := 0, true
	err := ReadDirents(dirfd, s.dirents, func(name []byte, ino uint64, off int64) bool {
		pid := pidOf(name)
		if pid == 0 {
			prevPID = 0
			return true
		}
		// An entry's d_off is where the next entry is: for procfs, the
		// next pid plus a constant (TGID_OFFSET).
		if prevPID != 0 {
			if o := prevOff - int64(pid); offset == 0 {
				offset = o
			} else if o != offset {
				consistent = false
			}
		}
		prevPID, prevOff = pid, off
		e := s.entry(pid, ino)
		e.listed, e.seen = s.listed, s.passes
		s.pids = append(s.pids, pid)
		s.readEntry(dirfd, pid, e, fresh)
		return true
	})
	if err != nil {
		return err
	}
	s.tgidOffset = 0
	if consistent && offset > 0 {
		s.tgidOffset = offset
	}
	for pid, e := range s.known {
		if e.listed != s.listed {
			s.release(e)
			delete(s.known, pid)
		}
	}
	return nil
}

// listRange lists the entries of root for pids from to to (or a few
// more), and reads the processes among them not read yet in this pass. A
// listing that does not start at from is errNoPidSeek. It reads small
// batches: procfs generates an entry for every live pid it goes past, and
// after pids wrapped, the range's end may be followed by thousands.
func (s *Sampler) listRange(dirfd int, from, to uint64) error {
	if _, err := unix.Seek(dirfd, int64(from)+s.tgidOffset, io.SeekStart); err != nil {
		return fmt.Errorf("%w: %w", errNoPidSeek, err)
	}
	bad := false
	err := ReadDirents(dirfd, s.dirents[:rangeBatch], func(name []byte, ino uint64, _ int64) bool {
		pid := pidOf(name)
		switch {
		case pid == 0:
			return true
		case uint64(pid) < from:
			bad = true
			return false
		case uint64(pid) > to:
			return false
		}
		if _, ok := s.known[pid]; !ok {
			s.pids = append(s.pids, pid)
		}
		e := s.entry(pid, ino)
		e.seen = s.passes
		if e.read != s.passes {
			s.readEntry(dirfd, pid, e, false)
		}
		return true
	})
	if bad {
		return errNoPidSeek
	}
	return err
}

// rangeBatch is the getdents buffer of listRange: about 64 entries.
const rangeBatch = 2 << 10

// pidOf is the pid a /proc entry name (NUL-terminated) stands for, 0 for
// other entries (self, net, ...). pid_max is at most 2^22.
func pidOf(name []byte) int {
	pid, ok := parseDecimal(name[:len(name)-1])
	if !ok || pid > 1<<22 {
		return 0
	}
	return int(pid)
}

// entry returns the sampler's entry for pid, listed with inode ino: a new
// one for a new process, or for a pid now used by another process (its
// /proc entry has another inode).
func (s *Sampler) entry(pid int, ino uint64) *procEntry {
	e := s.known[pid]
	if e != nil && e.ino != ino {
		s.release(e)
		e = nil
	}
	if e == nil {
		e = &procEntry{ino: ino, fd: -1}
		s.known[pid] = e
	}
	return e
}

// readEntry reads (or takes from the cache, unless fresh) the stat of
// process pid into e, and appends it to s.procs and s.entries; a process
// found gone is forgotten instead.
func (s *Sampler) readEntry(dirfd, pid int, e *procEntry, fresh bool) {
	e.fresh, e.read = false, s.passes
	switch {
	case e.fd >= 0:
		b, err := s.pread(e.fd)
		if err != nil {
			s.release(e) // exited: ESRCH
			delete(s.known, pid)
			return
		}
		e.p, e.fresh = s.parseInto(e.p, b, pid)
	case e.p.pid == 0 || e.tree || fresh:
		// New, in a tree but not held (maxHeld), or a full pass: read by
		// path.
		s.path = appendStatPath(s.path[:0], pid)
		b, err := s.readFileAt(dirfd, s.path)
		if err != nil {
			delete(s.known, pid)
			return
		}
		e.p, e.fresh = s.parseInto(e.p, b, pid)
	}
	if e.p.pid == 0 {
		delete(s.known, pid)
		return
	}
	s.procs, s.entries = append(s.procs, e.p), append(s.entries, e)
}

// lastPID reads the last pid the kernel allocated, the fifth field of
// root/loadavg ("0.62 0.17 0.10 2/1606 9449"). Any fork or clone moves it.
func (s *Sampler) lastPID(dirfd int) (uint64, bool) {
	b, err := s.readFileAt(dirfd, []byte("loadavg\x00"))
	if err != nil {
		return 0, false
	}
	b = bytes.TrimRight(b, "\n")
	i := bytes.LastIndexByte(b, ' ')
	if i < 0 || bytes.Count(b, []byte(" ")) != 4 {
		return 0, false
	}
	return parseDecimal(b[i+1:])
}
