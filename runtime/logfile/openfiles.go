package logfile

import (
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
)

// OpenFiles bounds how many log files of its Files (NewFile) are open at
// once: a File opens on its first write after being closed, and a File
// that opens while Max are open first closes the least recently written
// other one. CloseIdle closes those not written for a while, so an
// instance that prints nothing holds no log file. A closed File goes on
// exactly as if it had stayed open: it learns its size and last line again
// when it opens (openLocked), so it is written at its end, rotated by size
// and ends an unfinished line as always; its mode and line state are kept
// in memory.
//
// Locks: a File's mu is taken before the pool's mu, never after, except
// with TryLock: the pool never waits for a File (a busy one, in a write or
// a rotation, is skipped), so no order of writes, evictions and idle
// closes can deadlock. The pool's mu is held across no file I/O but the
// close(2) of a victim.
type OpenFiles struct {
	mu   sync.Mutex
	max  int
	n    int  // Files linked in the list: open, or opening
	head File // sentinel of the list, least recently written first

	evictions  atomic.Int64
	idleCloses atomic.Int64
	reopens    atomic.Int64
	overBound  atomic.Int64
}

// MaxOpenLimit is the most log files DefaultMaxOpen allows open.
const MaxOpenLimit = 4096

// DefaultMaxOpen is the bound of a new OpenFiles: a quarter of the soft
// RLIMIT_NOFILE, at most MaxOpenLimit, at least 1.
func DefaultMaxOpen() int {
	var l unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &l); err != nil {
		return MaxOpenLimit
	}
	return int(max(1, min(l.Cur/4, MaxOpenLimit)))
}

// NewOpenFiles returns a pool bounded by DefaultMaxOpen until SetMax.
func NewOpenFiles() *OpenFiles {
	p := &OpenFiles{max: DefaultMaxOpen()}
	p.head.prev, p.head.next = &p.head, &p.head
	return p
}

// NewFile is logfile.NewFile for a File of the pool: its file counts
// against the bound and CloseIdle closes it.
func (p *OpenFiles) NewFile(path string, maxSize int64, maxFiles int, log *slog.Logger) *File {
	l := NewFile(path, maxSize, maxFiles, log)
	l.pool = p
	return l
}

// OpenStats is what an OpenFiles has done, for tests and metrics.
type OpenStats struct {
	Open       int   // files open (or opening) now
	Max        int   // the bound
	Evictions  int64 // files closed to make room for another
	IdleCloses int64 // files closed by CloseIdle
	Reopens    int64 // opens of a file the pool had closed
	OverBound  int64 // opens past the bound, every other file being busy
}

// Stats reads the pool's counters.
func (p *OpenFiles) Stats() OpenStats {
	p.mu.Lock()
	n, m := p.n, p.max
	p.mu.Unlock()
	return OpenStats{Open: n, Max: m, Evictions: p.evictions.Load(), IdleCloses: p.idleCloses.Load(),
		Reopens: p.reopens.Load(), OverBound: p.overBound.Load()}
}

// SetMax changes the bound (n < 1 is 1) and closes the least recently
// written files past it at once; busy ones are left open, to be closed by
// the next open past the bound or by CloseIdle.
func (p *OpenFiles) SetMax(n int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.max = max(n, 1)
	p.evictLocked(p.max)
}

// opening makes room for l, about to open with its mu held: it closes the
// least recently written other files until fewer than max are open, then
// links l last (it is not linked while closed). When every open file is
// busy, l opens past the bound (OverBound counts it) rather than wait.
func (p *OpenFiles) opening(l *File) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if l.linked {
		return
	}
	if !p.evictLocked(p.max - 1) {
		p.overBound.Add(1)
	}
	p.linkLocked(l)
}

// evictLocked closes the least recently written files, skipping the busy
// ones, until at most keep are open; false if the busy ones left more.
func (p *OpenFiles) evictLocked(keep int) bool {
	for v := p.head.next; p.n > keep; {
		if v == &p.head {
			return false
		}
		next := v.next
		if v.mu.TryLock() { // never wait: v's writer may be waiting for p.mu
			v.closeFileLocked()
			p.unlinkLocked(v)
			v.evicted = true
			v.mu.Unlock()
			p.evictions.Add(1)
		}
		v = next
	}
	return true
}

// touch records a write of l at now (l.mu held): l becomes the most
// recently written.
func (p *OpenFiles) touch(l *File, now time.Time) {
	p.mu.Lock()
	l.lastWrite = now
	if l.linked && p.head.prev != l {
		l.prev.next, l.next.prev = l.next, l.prev
		l.prev, l.next = p.head.prev, &p.head
		p.head.prev.next, p.head.prev = l, l
	}
	p.mu.Unlock()
}

// closed unlinks l, whose file was just closed (l.mu held).
func (p *OpenFiles) closed(l *File) {
	p.mu.Lock()
	if l.linked {
		p.unlinkLocked(l)
	}
	p.mu.Unlock()
}

func (p *OpenFiles) linkLocked(l *File) {
	l.prev, l.next = p.head.prev, &p.head
	p.head.prev.next, p.head.prev = l, l
	l.linked = true
	p.n++
}

func (p *OpenFiles) unlinkLocked(l *File) {
	l.prev.next, l.next.prev = l.next, l.prev
	l.prev, l.next = nil, nil
	l.linked = false
	p.n--
}

// CloseIdle closes every file last written idle or longer before now; a
// busy one (being written) is skipped. The next write reopens a file
// closed so. The pool's mu is not held across the closes.
func (p *OpenFiles) CloseIdle(now time.Time, idle time.Duration) {
	cutoff := now.Add(-idle)
	var idleFiles []*File
	p.mu.Lock()
	for v := p.head.next; v != &p.head && !v.lastWrite.After(cutoff); v = v.next {
		idleFiles = append(idleFiles, v)
	}
	p.mu.Unlock()
	for _, v := range idleFiles {
		if !v.mu.TryLock() {
			continue
		}
		// lastWrite is written under both mus: v.mu is enough to read it.
		if v.f != nil && !v.lastWrite.After(cutoff) {
			v.closeLocked()
			v.evicted = true
			p.idleCloses.Add(1)
		}
		v.mu.Unlock()
	}
}
