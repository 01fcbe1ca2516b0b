package watchers

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"unsafe"

	"golang.org/x/sys/unix"
)

// closeWatch is a second inotify instance on the folders the fsnotify
// watcher watches, for what fsnotify v1.10 cannot be asked for: that a file
// opened for writing was closed (IN_CLOSE_WRITE). It reports modifications
// too, in the same queue, so a write and its close are seen in order.
//
// Its queue is read only by the loop, without blocking (drain), just
// before and after each file is read: the kernel queues a write's event
// within the write itself, so a drain after a write returned sees it. A
// goroutine only waits for the queue to become readable and wakes the loop.
type closeWatch struct {
	file *os.File
	wds  map[int]string // watch descriptor -> folder
	dirs map[string]int // folder -> watch descriptor
	wake chan struct{}  // something is queued (or may be)
	buf  []byte
}

// closeMask: writes, the close that ends them, and what replaces or removes
// the file at a path (after which its pending writes concern another file).
const closeMask = unix.IN_MODIFY | unix.IN_CLOSE_WRITE | unix.IN_MOVED_TO | unix.IN_DELETE | unix.IN_CREATE

func newCloseWatch() (*closeWatch, error) {
	fd, err := unix.InotifyInit1(unix.IN_NONBLOCK | unix.IN_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("inotify_init1 for close-after-write events: %w", err)
	}
	c := &closeWatch{
		file: os.NewFile(uintptr(fd), "inotify-close-write"),
		wds:  map[int]string{},
		dirs: map[string]int{},
		wake: make(chan struct{}, 1),
		buf:  make([]byte, 64<<10),
	}
	rc, err := c.file.SyscallConn()
	if err != nil {
		_ = c.file.Close()
		return nil, fmt.Errorf("inotify for close-after-write events: %w", err)
	}
	go c.waitReadable(rc.Read)
	return c, nil
}

// waitReadable wakes the loop whenever the queue may hold events, until
// the file is closed. Every call of the callback wakes it (the first one
// too: readiness before the wait began may not be reported); a spurious
// wake costs one empty drain.
func (c *closeWatch) waitReadable(read func(func(uintptr) bool) error) {
	_ = read(func(uintptr) bool {
		select {
		case c.wake <- struct{}{}:
		default:
		}
		return false // wait for the queue to become readable again
	})
}

func (c *closeWatch) add(dir string) error {
	var wd int
	err := c.control(func(fd int) error {
		var err error
		wd, err = unix.InotifyAddWatch(fd, dir, closeMask)
		return err
	})
	if err != nil {
		return fmt.Errorf("watch %s for close-after-write: %w", dir, err)
	}
	if old, ok := c.dirs[dir]; ok && old != wd {
		delete(c.wds, old)
	}
	c.wds[wd], c.dirs[dir] = dir, wd
	return nil
}

func (c *closeWatch) remove(dir string) {
	wd, ok := c.dirs[dir]
	if !ok {
		return
	}
	delete(c.dirs, dir)
	delete(c.wds, wd)
	_ = c.control(func(fd int) error { _, err := unix.InotifyRmWatch(fd, uint32(wd)); return err })
}

func (c *closeWatch) control(f func(fd int) error) error {
	rc, err := c.file.SyscallConn()
	if err != nil {
		return err
	}
	var ferr error
	if err := rc.Control(func(fd uintptr) { ferr = f(int(fd)) }); err != nil {
		return err
	}
	return ferr
}

// writeEvent is one event of the close watch.
type writeEvent struct {
	path string // folder/name
	op   writeOp
}

type writeOp uint8

const (
	opWrite    writeOp = iota + 1 // written (or truncated)
	opClose                       // closed after writing
	opReplaced                    // created, renamed onto or removed: another file, or none, is there now
)

// drain reads every event queued now, without blocking. overflow reports
// that the kernel dropped events (or the queue could not be read): what
// is being written is then unknown.
func (c *closeWatch) drain() (evs []writeEvent, overflow bool) {
	for {
		var n int
		err := c.control(func(fd int) error {
			var err error
			n, err = unix.Read(fd, c.buf)
			return err
		})
		if errors.Is(err, unix.EAGAIN) || errors.Is(err, unix.EINTR) {
			return evs, overflow
		}
		if err != nil || n < unix.SizeofInotifyEvent {
			return evs, true
		}
		evs, overflow = c.parse(c.buf[:n], evs, overflow)
	}
}

func (c *closeWatch) parse(b []byte, evs []writeEvent, overflow bool) ([]writeEvent, bool) {
	for len(b) >= unix.SizeofInotifyEvent {
		raw := (*unix.InotifyEvent)(unsafe.Pointer(&b[0]))
		end := unix.SizeofInotifyEvent + int(raw.Len)
		if end > len(b) {
			return evs, true
		}
		name := cString(b[unix.SizeofInotifyEvent:end])
		b = b[end:]
		mask, wd := raw.Mask, int(raw.Wd)
		switch {
		case mask&unix.IN_Q_OVERFLOW != 0:
			overflow = true
			continue
		case mask&unix.IN_IGNORED != 0: // the folder is gone or unwatched
			if dir, ok := c.wds[wd]; ok {
				delete(c.wds, wd)
				if c.dirs[dir] == wd {
					delete(c.dirs, dir)
				}
			}
			continue
		}
		dir, ok := c.wds[wd]
		if !ok || name == "" {
			continue
		}
		ev := writeEvent{path: filepath.Join(dir, name)}
		switch {
		case mask&(unix.IN_MOVED_TO|unix.IN_DELETE|unix.IN_CREATE) != 0:
			ev.op = opReplaced
		case mask&unix.IN_CLOSE_WRITE != 0:
			ev.op = opClose
		case mask&unix.IN_MODIFY != 0:
			ev.op = opWrite
		default:
			continue
		}
		evs = append(evs, ev)
	}
	return evs, overflow
}

func cString(b []byte) string {
	for i, c := range b {
		if c == 0 {
			return string(b[:i])
		}
	}
	return string(b)
}

// close stops the watch and its goroutine.
func (c *closeWatch) close() error { return c.file.Close() }
