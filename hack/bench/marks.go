package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

var errTimeout = errors.New("timeout")

// start is one exec of a workload, as the workload itself stamped it: the
// first thing its main does is write <dir>/<instance>.<pid> holding
// time.Now() in Unix nanoseconds (--mark-start). Timing from these stamps
// leaves out how fast the harness notices.
type start struct {
	inst string
	pid  int
	at   time.Time
}

// marks follows a --mark-start folder with inotify (IN_CLOSE_WRITE): no
// polling of a folder of thousands of files while the supervisors work.
type marks struct {
	dir string
	f   *os.File // the inotify descriptor, in Go's poller
	wg  sync.WaitGroup

	mu      sync.Mutex // guards the fields below
	byInst  map[string][]start
	count   int
	changed chan struct{} // closed (and replaced) on each new start
}

func newMarks(dir string) (*marks, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	fd, err := unix.InotifyInit1(unix.IN_CLOEXEC | unix.IN_NONBLOCK)
	if err != nil {
		return nil, fmt.Errorf("inotify: %w", err)
	}
	if _, err := unix.InotifyAddWatch(fd, dir, unix.IN_CLOSE_WRITE); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("inotify %s: %w", dir, err)
	}
	m := &marks{dir: dir, f: os.NewFile(uintptr(fd), "inotify"), byInst: map[string][]start{}, changed: make(chan struct{})}
	m.wg.Go(m.read)
	return m, nil
}

// close stops the reader and waits for it.
func (m *marks) close() {
	_ = m.f.Close()
	m.wg.Wait()
}

func (m *marks) read() {
	buf := make([]byte, 256<<10)
	for {
		n, err := m.f.Read(buf)
		if err != nil {
			return
		}
		for off := 0; off+unix.SizeofInotifyEvent <= n; {
			ev := (*unix.InotifyEvent)(unsafe.Pointer(&buf[off]))
			name := string(buf[off+unix.SizeofInotifyEvent : off+unix.SizeofInotifyEvent+int(ev.Len)])
			off += unix.SizeofInotifyEvent + int(ev.Len)
			if ev.Mask&unix.IN_Q_OVERFLOW != 0 {
				m.rescan()
				continue
			}
			m.add(strings.TrimRight(name, "\x00"))
		}
	}
}

// rescan reads every file after an inotify queue overflow.
func (m *marks) rescan() {
	entries, _ := os.ReadDir(m.dir)
	for _, e := range entries {
		m.add(e.Name())
	}
}

// add records the start file name (<instance>.<pid>) once.
func (m *marks) add(name string) {
	i := strings.LastIndexByte(name, '.')
	if i < 0 {
		return
	}
	pid, err := strconv.Atoi(name[i+1:])
	if err != nil {
		return
	}
	b, err := os.ReadFile(filepath.Join(m.dir, name))
	if err != nil {
		return
	}
	ns, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
	if err != nil {
		return
	}
	s := start{inst: name[:i], pid: pid, at: time.Unix(0, ns)}
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, o := range m.byInst[s.inst] {
		if o.pid == pid {
			return
		}
	}
	m.byInst[s.inst] = append(m.byInst[s.inst], s)
	m.count++
	close(m.changed)
	m.changed = make(chan struct{})
}

// wait blocks until cond, called under the lock with the starts by
// instance, holds; errTimeout after timeout.
func (m *marks) wait(ctx context.Context, timeout time.Duration, cond func(byInst map[string][]start) bool) error {
	t := time.NewTimer(timeout)
	defer t.Stop()
	for {
		m.mu.Lock()
		ok, ch := cond(m.byInst), m.changed
		m.mu.Unlock()
		if ok {
			return nil
		}
		select {
		case <-ch:
		case <-t.C:
			return errTimeout
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// all waits until every instance of insts has started at least once after
// since, and returns the first and the last of those first starts.
func (m *marks) all(ctx context.Context, timeout time.Duration, insts []string, since time.Time) (first, last time.Time, err error) {
	err = m.wait(ctx, timeout, func(by map[string][]start) bool {
		first, last = time.Time{}, time.Time{}
		for _, inst := range insts {
			s, ok := firstAfter(by[inst], since, 0)
			if !ok {
				return false
			}
			if first.IsZero() || s.at.Before(first) {
				first = s.at
			}
			if s.at.After(last) {
				last = s.at
			}
		}
		return true
	})
	return first, last, err
}

// firstAfter is the first start in ss after since whose pid is not
// notPID.
func firstAfter(ss []start, since time.Time, notPID int) (start, bool) {
	for _, s := range ss {
		if !s.at.Before(since) && s.pid != notPID {
			return s, true
		}
	}
	return start{}, false
}

// latest is the last start of inst.
func (m *marks) latest(inst string) (start, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	ss := m.byInst[inst]
	if len(ss) == 0 {
		return start{}, false
	}
	return ss[len(ss)-1], true
}

// since counts the starts of each instance at or after t.
func (m *marks) since(t time.Time) map[string]int {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := map[string]int{}
	for inst, ss := range m.byInst {
		for _, s := range ss {
			if !s.at.Before(t) {
				out[inst]++
			}
		}
	}
	return out
}

// byInstCopy is a copy of the starts of inst.
func (m *marks) byInstCopy(inst string) []start {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]start(nil), m.byInst[inst]...)
}
