package runtime

import (
	"os"
	"path/filepath"
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
