// Package hostile makes the files a test puts where the daemon expects one
// of its own: a sparse 4 GiB file, a link to /dev/zero, a FIFO, a folder.
// For the tests of every reader of a trusted file (boundedfile).
package hostile

import (
	"os"
	"syscall"
	"testing"
)

// Case is one hostile file.
type Case struct {
	Name string
	// Says is what the error about it must say.
	Says string
	// Make puts the hostile file at path (replacing what is there).
	Make func(t testing.TB, path string)
}

// Cases are the hostile files every bounded reader is tested with. A
// reader that reads them whole needs 4 GiB, never ends, or hangs.
func Cases() []Case {
	return []Case{
		{"sparse 4 GiB file", "4294967296 bytes, more than the", func(t testing.TB, path string) {
			replace(t, path)
			f, err := os.Create(path)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			if err := f.Truncate(4 << 30); err != nil {
				t.Fatal(err)
			}
		}},
		{"link to /dev/zero", "it is a character device", func(t testing.TB, path string) {
			replace(t, path)
			if err := os.Symlink("/dev/zero", path); err != nil {
				t.Fatal(err)
			}
		}},
		{"FIFO", "it is a named pipe (FIFO)", func(t testing.TB, path string) {
			replace(t, path)
			if err := syscall.Mkfifo(path, 0o600); err != nil {
				t.Fatal(err)
			}
		}},
		{"folder", "it is a folder", func(t testing.TB, path string) {
			replace(t, path)
			if err := os.Mkdir(path, 0o700); err != nil {
				t.Fatal(err)
			}
		}},
	}
}

func replace(t testing.TB, path string) {
	if err := os.RemoveAll(path); err != nil {
		t.Fatal(err)
	}
}
