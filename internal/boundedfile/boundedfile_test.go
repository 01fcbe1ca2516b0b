package boundedfile

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"proclet.dev/proclet/internal/hostile"
)

func TestRead_RefusesHostileFiles(t *testing.T) {
	for _, c := range hostile.Cases() {
		t.Run(c.Name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "state.json")
			c.Make(t, p)
			done := make(chan error, 1)
			go func() { _, err := Read(p, 64<<20); done <- err }()
			select {
			case err := <-done:
				if err == nil || !strings.Contains(err.Error(), c.Says) || !strings.Contains(err.Error(), p) {
					t.Fatalf("err %v, want one naming %s and saying %q", err, p, c.Says)
				}
				if !errors.Is(err, ErrNotRegular) && !errors.Is(err, ErrTooLarge) {
					t.Fatalf("err %v is neither ErrNotRegular nor ErrTooLarge", err)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("Read still blocked after 10 s")
			}
		})
	}
}

func TestRead_Bound(t *testing.T) {
	p := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(p, []byte("12345"), 0o600); err != nil {
		t.Fatal(err)
	}
	if b, err := Read(p, 5); err != nil || string(b) != "12345" {
		t.Fatalf("at the bound: %q %v", b, err)
	}
	_, err := Read(p, 4)
	if !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), "5 bytes, more than the 4 bytes bound") {
		t.Fatalf("over the bound: %v", err)
	}
	// A file that says it is empty but is not (procfs) is bounded by
	// what comes.
	_, err = Read("/proc/self/environ", 1)
	var tl *TooLargeError
	if !errors.As(err, &tl) || tl.Size != -1 || !strings.Contains(err.Error(), "grew while read") {
		t.Fatalf("a file growing past the bound: %v", err)
	}
	if _, err := Read(filepath.Join(t.TempDir(), "none"), 4); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("missing: %v", err)
	}
}

func TestMoveAside(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "instances.json")
	hostile.Cases()[3].Make(t, p) // a folder: what a later write could never replace
	at := time.Date(2026, 12, 7, 14, 30, 0, 0, time.FixedZone("x", 3600))
	aside, err := MoveAside(p, at)
	if err != nil || aside != p+".bad-20261207T133000Z" {
		t.Fatalf("MoveAside = %q, %v", aside, err)
	}
	if _, err := os.Lstat(p); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("still at its place: %v", err)
	}
	if fi, err := os.Lstat(aside); err != nil || !fi.IsDir() {
		t.Fatalf("aside: %v %v", fi, err)
	}
	// A second one in the same second keeps the first.
	if err := os.WriteFile(p, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	if again, err := MoveAside(p, at); err != nil || again != aside+"-2" {
		t.Fatalf("MoveAside again = %q, %v", again, err)
	}
}

func TestBytes(t *testing.T) {
	for n, want := range map[int64]string{64 << 20: "64 MiB", 1 << 20: "1 MiB", 512 << 10: "512 KiB", 2 << 30: "2 GiB", 1000: "1000 bytes"} {
		if got := Bytes(n); got != want {
			t.Errorf("Bytes(%d) = %q, want %q", n, got, want)
		}
	}
}
