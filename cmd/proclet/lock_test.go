package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// A second daemon on a state dir whose lock file is a link to /dev/zero
// says the dir is taken, at once: it does not read the device for ever to
// learn the holder's PID.
func TestLockStateDir_LockFileLinkedToDevZero(t *testing.T) {
	dir := t.TempDir()
	if err := os.Symlink("/dev/zero", filepath.Join(dir, "lock")); err != nil {
		t.Fatal(err)
	}
	unlock, err := lockStateDir(dir)
	if err != nil {
		t.Skipf("cannot lock /dev/zero here: %v", err)
	}
	defer unlock()
	done := make(chan error, 1)
	go func() {
		again, err := lockStateDir(dir)
		if err == nil {
			again()
		}
		done <- err
	}()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "another proclet") || !strings.Contains(err.Error(), dir) {
			t.Fatalf("second lock: %v; want the dir refused", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the second lock still reading the lock file after 10 s")
	}
}
