package exec

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

func TestTmpfsRunDir(t *testing.T) {
	state := t.TempDir()
	dir := TmpfsRunDir(state)
	if dir == "" {
		t.Skip("no tmpfs to use here")
	}
	t.Cleanup(func() { os.Remove(dir) })
	var fs unix.Statfs_t
	if err := unix.Statfs(dir, &fs); err != nil || fs.Type != unix.TMPFS_MAGIC {
		t.Fatalf("%s is not on a tmpfs (%v)", dir, err)
	}
	if st, err := os.Lstat(dir); err != nil || !st.IsDir() || st.Mode().Perm() != 0o700 {
		t.Fatalf("%s: %v, %v; want a 0700 folder", dir, st, err)
	}
	if again := TmpfsRunDir(state + "/."); again != dir {
		t.Errorf("the same state dir gives %s, then %s", dir, again)
	}
	other := TmpfsRunDir(t.TempDir())
	t.Cleanup(func() { os.Remove(other) })
	if other == dir {
		t.Errorf("two state dirs share the run dir %s", dir)
	}
}

// A folder that is a link, someone else's or writable by others is not
// used: /dev/shm is world-writable.
func TestTmpfsRunDir_RefusesWhatIsNotPrivate(t *testing.T) {
	var fs unix.Statfs_t
	if unix.Statfs("/dev/shm", &fs) != nil || fs.Type != unix.TMPFS_MAGIC {
		t.Skip("/dev/shm is not a tmpfs here")
	}
	base := filepath.Join("/dev/shm", "proclet-test-"+filepath.Base(t.TempDir()))
	t.Cleanup(func() { os.RemoveAll(base) })
	link, open, good := base+"-link", base+"-open", base+"-good"
	t.Cleanup(func() { os.Remove(link); os.Remove(open); os.Remove(good) })
	if err := os.Symlink(t.TempDir(), link); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(open, 0o777); err != nil {
		t.Fatal(err)
	}
	os.Chmod(open, 0o777)
	for _, d := range []string{link, open} {
		if err := ownTmpfsDir(d, os.Geteuid()); err == nil {
			t.Errorf("%s accepted", d)
		}
	}
	if err := ownTmpfsDir(good, os.Geteuid()); err != nil {
		t.Errorf("a new private folder refused: %v", err)
	}
	if err := ownTmpfsDir(good, os.Geteuid()+1); err == nil {
		t.Error("a folder of another user accepted")
	}
}

// A default run dir that is there but not private (a link, writable by
// others, not a folder) is refused with a reason that names it and says
// what is wrong, for the daemon's warning; a host without the tmpfs is
// ErrNotTmpfs, no fault.
func TestTmpfsRunDirRefusals_SaysWhy(t *testing.T) {
	t.Setenv("XDG_RUNTIME_DIR", "")
	for _, tc := range []struct {
		name, says string
		make       func(dir string) error
	}{
		{"open", "has mode 0777: others may write in it", func(dir string) error {
			if err := os.Mkdir(dir, 0o700); err != nil {
				return err
			}
			return os.Chmod(dir, 0o777)
		}},
		{"link", "is a symbolic link, not a folder", func(dir string) error { return os.Symlink(t.TempDir(), dir) }},
		{"file", "is not a folder", func(dir string) error { return os.WriteFile(dir, nil, 0o600) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			state := t.TempDir()
			candidates := runDirCandidates(state, os.Geteuid())
			// Each candidate chosen (so on a tmpfs, and made) is made bad
			// in turn, until none is left.
			made := map[string]bool{}
			for range candidates {
				dir := TmpfsRunDir(state)
				if dir == "" {
					break
				}
				t.Cleanup(func() { os.Remove(dir) })
				if err := os.Remove(dir); err != nil {
					t.Fatal(err)
				}
				if err := tc.make(dir); err != nil {
					t.Fatal(err)
				}
				made[dir] = true
			}
			got, refused := TmpfsRunDirRefusals(state)
			if got != "" || len(refused) != len(candidates) {
				t.Fatalf("TmpfsRunDirRefusals = %q, %v; want every candidate of %v refused", got, refused, candidates)
			}
			bad := 0
			for i, err := range refused {
				if errors.Is(err, ErrNotTmpfs) {
					continue
				}
				bad++
				if !made[candidates[i]] || !strings.Contains(err.Error(), candidates[i]) || !strings.Contains(err.Error(), tc.says) {
					t.Errorf("refusal %v; want one naming %s and saying %q", err, candidates[i], tc.says)
				}
			}
			if bad == 0 {
				t.Skip("no tmpfs candidate here")
			}
		})
	}
}
