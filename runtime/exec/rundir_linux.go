package exec

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	"golang.org/x/sys/unix"
)

// TmpfsRunDir is a run dir (Options.RunDir) for the state dir
// stateDir on a tmpfs, or "" when there is none to use: /run/proclet/<key>
// for root when /run is a tmpfs, else $XDG_RUNTIME_DIR/proclet/<key>,
// else /dev/shm/proclet-<euid>-<key>; <key> names the state dir, so the
// next daemon on it finds the same folder. A FIFO made on a disk
// filesystem allocates an inode there: on the ext4 of the machines we
// measure, mknod took ~0.7 ms, 35 % of the daemon's CPU in a cold start of
// 1000 apps. On a tmpfs it is memory. What a tmpfs forgets at a reboot
// went with the instances anyway.
//
// A folder found there must be a folder (not a link), owned by the
// daemon's user and not writable by others, or it is not used.
func TmpfsRunDir(stateDir string) string {
	dir, _ := TmpfsRunDirRefusals(stateDir)
	return dir
}

// ErrNotTmpfs says a candidate run dir is not on a tmpfs: no fault, a host
// without one (a refusal of TmpfsRunDirRefusals).
var ErrNotTmpfs = errors.New("not a tmpfs")

// TmpfsRunDirRefusals is TmpfsRunDir, with why each candidate before the
// one chosen was refused (ErrNotTmpfs, or a folder that is not private to
// the daemon's user: what someone else may have put there), for the
// daemon to log.
func TmpfsRunDirRefusals(stateDir string) (string, []error) {
	abs, err := filepath.Abs(stateDir)
	if err != nil {
		return "", []error{err}
	}
	euid := os.Geteuid()
	var refused []error
	for _, dir := range runDirCandidates(abs, euid) {
		err := ownTmpfsDir(dir, euid)
		if err == nil {
			return dir, refused
		}
		refused = append(refused, fmt.Errorf("run dir %s refused: %w", dir, err))
	}
	return "", refused
}

// runDirCandidates are the run dirs TmpfsRunDir tries, in order, for the
// absolute state dir abs.
func runDirCandidates(abs string, euid int) []string {
	sum := sha256.Sum256([]byte(abs))
	key := hex.EncodeToString(sum[:6])
	var candidates []string
	if euid == 0 {
		candidates = append(candidates, "/run/proclet/"+key)
	}
	if x := os.Getenv("XDG_RUNTIME_DIR"); x != "" {
		candidates = append(candidates, filepath.Join(x, "proclet", key))
	}
	return append(candidates, fmt.Sprintf("/dev/shm/proclet-%s-%s", strconv.Itoa(euid), key))
}

// ownTmpfsDir makes dir (and its parent, 0700, where missing) and checks
// it is a folder of the user euid on a tmpfs that no one else may write.
func ownTmpfsDir(dir string, euid int) error {
	var fs unix.Statfs_t
	top := filepath.Dir(filepath.Dir(dir)) // /run, $XDG_RUNTIME_DIR, /dev
	if filepath.Base(filepath.Dir(dir)) != "proclet" {
		top = filepath.Dir(dir) // /dev/shm/proclet-...: /dev/shm
	}
	if err := unix.Statfs(top, &fs); err != nil || fs.Type != unix.TMPFS_MAGIC {
		return fmt.Errorf("%s: %w", top, ErrNotTmpfs)
	}
	for _, d := range []string{filepath.Dir(dir), dir} {
		if d == top {
			continue
		}
		if err := os.Mkdir(d, 0o700); err != nil && !os.IsExist(err) {
			return err
		}
		if err := privateDir(d, euid); err != nil {
			return err
		}
	}
	return nil
}

// privateDir checks that d is a folder (not a link to one) of the user
// euid that no one else may write, and says what it is instead.
func privateDir(d string, euid int) error {
	var st unix.Stat_t
	if err := unix.Lstat(d, &st); err != nil {
		return err
	}
	switch {
	case st.Mode&unix.S_IFMT == unix.S_IFLNK:
		return fmt.Errorf("%s is a symbolic link, not a folder", d)
	case st.Mode&unix.S_IFMT != unix.S_IFDIR:
		return fmt.Errorf("%s is not a folder", d)
	case int(st.Uid) != euid:
		return fmt.Errorf("%s is owned by uid %d, not by the daemon's uid %d", d, st.Uid, euid)
	case st.Mode&0o022 != 0:
		return fmt.Errorf("%s has mode %04o: others may write in it", d, st.Mode&0o7777)
	}
	return nil
}
