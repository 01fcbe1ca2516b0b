package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"proclet.dev/proclet/internal/boundedfile"
)

// lockStateDir takes an exclusive flock on <state-dir>/lock so that a
// second daemon on the same state dir refuses to start. The kernel drops
// the lock when the process dies, so a kill -9 never leaves a stale lock.
func lockStateDir(dir string) (func(), error) {
	path := filepath.Join(dir, "lock")
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR|syscall.O_CLOEXEC, 0o644)
	if err != nil {
		return nil, fmt.Errorf("lock state dir: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		// Bounded: a lock file linked to /dev/zero must not eat the memory.
		holder, _ := boundedfile.Read(path, 64)
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("another proclet (pid %s) is already running on state dir %s; stop it first or use another --state-dir",
				strings.TrimSpace(string(holder)), dir)
		}
		return nil, fmt.Errorf("lock state dir %s: %w", dir, err)
	}
	_ = f.Truncate(0)
	_, _ = fmt.Fprintf(f, "%d\n", os.Getpid())
	return func() { f.Close() }, nil
}
