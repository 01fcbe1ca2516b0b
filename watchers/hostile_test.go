package watchers

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"proclet.dev/proclet/apis/v1alpha1"
)

// hostileTimeout bounds each read of a hostile file: none may block.
const hostileTimeout = 2 * time.Second

// hostile is a file named like a manifest that must be refused: what it
// is, how to make it at path (to be renamed to final, in the same folder),
// and what its error says.
type hostile struct {
	name string
	make func(t *testing.T, path, final string)
	says string
	is   error // what ReadManifest's error is, for errors.Is
}

func hostiles() []hostile {
	return []hostile{
		{name: "fifo", says: "named pipe (FIFO)", is: ErrNotRegular, make: func(t *testing.T, p, final string) {
			if err := syscall.Mkfifo(p, 0o644); err != nil {
				t.Fatal(err)
			}
		}},
		{name: "link to a device", says: "character device", is: ErrNotRegular, make: func(t *testing.T, p, final string) {
			symlink(t, "/dev/zero", p) // endless if ever read
		}},
		{name: "device node", says: "character device", is: ErrNotRegular, make: func(t *testing.T, p, final string) {
			if err := unix.Mknod(p, unix.S_IFCHR|0o644, int(unix.Mkdev(1, 5))); err != nil { // a /dev/zero of its own
				// CI runs as root, where mknod works: a skip there would
				// hide a test that stopped running.
				if os.Getenv("CI") != "" {
					t.Fatalf("mknod: %v (CI is set: this test must run there)", err)
				}
				t.Skipf("mknod needs root: %v", err)
			}
		}},
		{name: "symlink loop", says: "symbolic link loop", is: syscall.ELOOP, make: func(t *testing.T, p, final string) {
			symlink(t, final, p) // final, once renamed, links to itself
		}},
		{name: "10 GB sparse file", says: "larger than 1 MiB", is: ErrTooLarge, make: func(t *testing.T, p, final string) {
			f, err := os.Create(p)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			if err := f.Truncate(10 << 30); err != nil {
				t.Fatal(err)
			}
		}},
	}
}

// within fails the test unless f returns within d. (A hung f leaks its
// goroutine; the test has failed by then.)
func within(t *testing.T, d time.Duration, what string, f func()) {
	t.Helper()
	done := make(chan struct{})
	go func() { defer close(done); f() }()
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-done:
	case <-timer.C:
		t.Fatalf("%s: still blocked after %s", what, d)
	}
}

// ReadManifest (proclet validate) refuses each at once, never reading it.
func TestHostile_ReadManifestRefuses(t *testing.T) {
	t.Parallel()
	for _, h := range hostiles() {
		t.Run(h.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "x.yaml")
			h.make(t, p, "x.yaml")
			var err error
			within(t, hostileTimeout, "ReadManifest", func() { _, err = ReadManifest(p) })
			if !errors.Is(err, h.is) {
				t.Errorf("ReadManifest = %v, want %v", err, h.is)
			}
		})
	}
}

// The watcher reports each as an unreadable file, names what it is, does
// not hang, and keeps the app the file defined before it was replaced
// running its last good version.
func TestHostile_WatcherRefusesAndKeepsLastGood(t *testing.T) {
	t.Parallel()
	for _, h := range hostiles() {
		t.Run(h.name, func(t *testing.T) {
			t.Parallel()
			root := t.TempDir()
			web := filepath.Join(root, "web.yaml")
			writeFile(t, web, manifest("web", "v1"))
			_, sink := startDir(t, Options{Root: root}, nil)
			sink.waitSnap(t, "web", hasApps("web"))

			// Replace web.yaml with the hostile file (made under a hidden
			// name, renamed over it), and add one more.
			tmp := filepath.Join(root, ".x.yaml")
			h.make(t, tmp, "web.yaml")
			rename(t, tmp, web)
			h.make(t, filepath.Join(root, "new.yaml"), "new.yaml")
			var snap v1alpha1.Snapshot
			within(t, waitTimeout, "the watcher", func() {
				snap = sink.waitSnap(t, "both files reported", func(s v1alpha1.Snapshot) bool {
					a, _ := fileStatus(s, "web.yaml")
					b, _ := fileStatus(s, "new.yaml")
					return a.Error != nil && b.Error != nil
				})
			})
			for _, name := range []string{"web.yaml", "new.yaml"} {
				f, _ := fileStatus(snap, name)
				if f.Error.Reason != v1alpha1.ReasonUnreadable || !strings.Contains(f.Error.Message, h.says) || f.Error.File != name {
					t.Errorf("%s: error %+v, want Unreadable naming the file and saying %q", name, f.Error, h.says)
				}
			}
			if appCmd(snap, "web") != "v1" {
				t.Errorf("web after its file was replaced: %s, want its last good version running", describe(snap))
			}

			// And the watcher still works: a fix is applied.
			os.Remove(web)
			writeFile(t, web, manifest("web", "v2"))
			sink.waitSnap(t, "web v2", func(s v1alpha1.Snapshot) bool { return appCmd(s, "web") == "v2" })
		})
	}
}
