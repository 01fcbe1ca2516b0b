package cgroup

// This file holds the cgroup v2 side of the limits: with --cgroup-root
// (exec.Options.CgroupRoot, a subtree delegated to the daemon) every
// instance gets a cgroup of its own, <root>/<app>/<instance>-<uid8>, with
// memory.max and cpu.max from its spec where the controllers are there. See
// "Limits" in the doc of runtime/exec.

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// cpuPeriod is the cpu.max period, in microseconds (the kernel's default).
const cpuPeriod = 100000

// cgroupRemoveWait bounds how long the waiter waits for the killed
// processes of an instance's cgroup to leave it before giving up the rmdir.
const cgroupRemoveWait = 2 * time.Second

// Manager creates and removes the instances' cgroups under root. It
// never creates anything outside root: every folder is made and opened
// relative to its parent's descriptor, one name at a time, without
// following a symbolic link.
type Manager struct {
	Root    string // absolute and resolved
	fake    bool   // a plain folder standing for cgroupfs (tests)
	Memory  bool   // the memory controller is available to the instances
	CPU     bool   // the cpu controller is available to the instances
	Problem string // why a controller is missing, for runtime.LimitSupport
	log     *slog.Logger

	// mu serialises creating and removing the app folders, so that an
	// instance's cgroup is never created in an app folder being removed.
	mu sync.Mutex
	// cloneWarned: CLONE_INTO_CGROUP failed once and that was logged.
	cloneWarned bool // guarded by mu
}

// NewManager checks root and enables the memory and cpu controllers
// for its children. A root that is not a cgroup2 folder is refused, unless
// fake (a test's plain folder). A missing controller is not an error: the
// limits it would enforce are reported as not enforced (LimitSupport).
func NewManager(root string, fake bool, log *slog.Logger) (*Manager, error) {
	abs, err := filepath.Abs(root)
	if err == nil {
		abs, err = filepath.EvalSymlinks(abs)
	}
	if err != nil {
		return nil, fmt.Errorf("cgroup root %s: %w", root, err)
	}
	if st, err := os.Stat(abs); err != nil {
		return nil, fmt.Errorf("cgroup root %s: %w", root, err)
	} else if !st.IsDir() {
		return nil, fmt.Errorf("cgroup root %s: %w", root, syscall.ENOTDIR)
	}
	if !fake {
		var fs unix.Statfs_t
		if err := unix.Statfs(abs, &fs); err != nil {
			return nil, fmt.Errorf("cgroup root %s: %w", root, err)
		}
		if fs.Type != unix.CGROUP2_SUPER_MAGIC {
			return nil, fmt.Errorf("cgroup root %s: not a cgroup v2 folder (cgroup2 is mounted at /sys/fs/cgroup, or /sys/fs/cgroup/unified on hybrid hosts)", root)
		}
	}
	m := &Manager{Root: abs, fake: fake, log: log}
	rootDir, err := openDir(unix.AT_FDCWD, abs)
	if err != nil {
		return nil, fmt.Errorf("cgroup root %s: %w", root, err)
	}
	defer rootDir.Close()
	data, err := readAt(int(rootDir.Fd()), "cgroup.controllers")
	if err != nil {
		return nil, fmt.Errorf("cgroup root %s: %w", root, err)
	}
	have := strings.Fields(string(data))
	var missing, present []string
	for _, c := range []string{"memory", "cpu"} {
		if contains(have, c) {
			present = append(present, c)
		} else {
			missing = append(missing, c)
		}
	}
	if err := enableControllers(int(rootDir.Fd()), present); err != nil {
		// One at a time, to tell which one fails (EBUSY: the root holds
		// processes, the daemon itself maybe: cgroup v2 lets no folder
		// both hold processes and give controllers to its children).
		var ok []string
		for _, c := range present {
			if err := enableControllers(int(rootDir.Fd()), []string{c}); err != nil {
				m.Problem = joinProblem(m.Problem, fmt.Sprintf("cannot enable the %s controller in %s/cgroup.subtree_control: %v", c, abs, err))
				continue
			}
			ok = append(ok, c)
		}
		present = ok
	}
	m.Memory, m.CPU = contains(present, "memory"), contains(present, "cpu")
	if len(missing) > 0 {
		m.Problem = joinProblem(fmt.Sprintf("%s/cgroup.controllers has no %s controller (delegate it to proclet)",
			abs, strings.Join(missing, " or ")), m.Problem)
	}
	if m.Problem != "" {
		log.Warn("cgroup limits partly unavailable", "cgroup_root", abs, "problem", m.Problem)
	}
	return m, nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func joinProblem(a, b string) string {
	if a == "" || b == "" {
		return a + b
	}
	return a + "; " + b
}

// enableControllers makes controllers available to the children of the
// cgroup folder dirfd (cgroup.subtree_control), unless they already are.
func enableControllers(dirfd int, controllers []string) error {
	if len(controllers) == 0 {
		return nil
	}
	var on []string
	if data, err := readAt(dirfd, "cgroup.subtree_control"); err == nil {
		on = strings.Fields(string(data))
	}
	var add []string
	for _, c := range controllers {
		if !contains(on, c) {
			add = append(add, "+"+c)
		}
	}
	if len(add) == 0 {
		return nil
	}
	return writeAt(dirfd, "cgroup.subtree_control", strings.Join(add, " "))
}

// writeAt writes value into the file name of the folder dirfd, never
// through a symbolic link. (O_CREAT changes nothing on cgroupfs, whose
// files exist; a fake cgroupfs gets them created.)
func writeAt(dirfd int, name, value string) error {
	fd, err := unix.Openat(dirfd, name, unix.O_WRONLY|unix.O_CREAT|unix.O_TRUNC|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o644)
	if err != nil {
		return fmt.Errorf("open %s: %w", name, err)
	}
	f := os.NewFile(uintptr(fd), name)
	_, err = f.WriteString(value)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("write %q to %s: %w", value, name, osErr(err))
	}
	return nil
}

// readAt reads the small file name of the folder dirfd, never through a
// symbolic link.
func readAt(dirfd int, name string) ([]byte, error) {
	fd, err := unix.Openat(dirfd, name, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", name, err)
	}
	f := os.NewFile(uintptr(fd), name)
	defer f.Close()
	return io.ReadAll(io.LimitReader(f, 1<<20))
}

func existsAt(dirfd int, name string) bool {
	var st unix.Stat_t
	return unix.Fstatat(dirfd, name, &st, unix.AT_SYMLINK_NOFOLLOW) == nil
}

// NoteCloneFailed records that starting an instance with
// CLONE_INTO_CGROUP failed (it was moved into its cgroup after its start)
// and reports whether that is worth a warning: the first time only, and
// never on a fake cgroupfs, where it always fails.
func (m *Manager) NoteCloneFailed() (warn bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	warn = !m.cloneWarned && !m.fake
	m.cloneWarned = true
	return warn
}

// CloneFailed reports whether a start with CLONE_INTO_CGROUP failed once.
func (m *Manager) CloneFailed() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.cloneWarned
}

// fileNameSafe reports whether name is one path element.
func fileNameSafe(name string) bool {
	return name != "" && name != "." && name != ".." && !strings.ContainsAny(name, "/\x00")
}

// osErr is err without the path a *fs.PathError adds (the callers name
// the file themselves).
func osErr(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
