package cgroup

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"proclet.dev/proclet/runtime"
)

// Cgroup is one instance's cgroup. Its methods are safe for
// concurrent use and do nothing on a nil receiver (no cgroup root).
type Cgroup struct {
	m         *Manager
	app       string
	name      string // <instance>-<uid8>
	path      string
	MemoryMax bool  // memory.max holds a limit: the kernel enforces it
	oomBase   int64 // memory.events oom_kill when created

	mu  sync.Mutex
	dir *os.File // the cgroup's folder; nil once closed
}

// cgroupName is the folder of an instance's cgroup inside its app's.
func cgroupName(s runtime.StartSpec) string {
	uid := s.UID
	if len(uid) > 8 {
		uid = uid[:8]
	}
	return s.Instance + "-" + uid
}

// Create makes the cgroup of s and writes its limits. A folder left from
// an earlier start of the same uid (a stuck rmdir, a daemon killed before
// it cleaned up) is reused, after whatever still runs in it is killed: at
// no moment do two processes run for one instance.
func (m *Manager) Create(s runtime.StartSpec) (*Cgroup, error) {
	if m == nil {
		return nil, nil
	}
	name := cgroupName(s)
	for _, n := range []string{s.App, name} {
		if !fileNameSafe(n) || strings.HasPrefix(n, ".") || strings.HasPrefix(n, "cgroup.") {
			return nil, fmt.Errorf("cgroup: invalid name %q", n)
		}
	}
	cg := &Cgroup{m: m, app: s.App, name: name, path: filepath.Join(m.Root, s.App, name)}
	m.mu.Lock()
	dir, reused, err := m.mkdirs(s.App, name)
	m.mu.Unlock()
	if err != nil {
		return nil, fmt.Errorf("cgroup %s: %w", cg.path, err)
	}
	cg.dir = dir
	if reused {
		m.log.Warn("instance cgroup left from an earlier start; killing what runs in it", "cgroup", cg.path)
		cg.Kill()
	}
	if err := cg.SetLimits(s); err != nil {
		cg.Remove()
		return nil, fmt.Errorf("cgroup %s: %w", cg.path, err)
	}
	cg.oomBase = cg.oomKills()
	return cg, nil
}

// Reopen returns the cgroup an earlier daemon made for s, nil when there
// is none (or no cgroup root): for adoption, so that an adopted instance's
// stop reaches its whole cgroup and its exit is read (OOMKilled) and
// cleaned up like any other. OOM kills are counted from the cgroup's
// creation.
func (m *Manager) Reopen(s runtime.StartSpec) *Cgroup {
	if m == nil {
		return nil
	}
	name := cgroupName(s)
	if !fileNameSafe(s.App) || !fileNameSafe(name) {
		return nil
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	root, err := openDir(unix.AT_FDCWD, m.Root)
	if err != nil {
		return nil
	}
	defer root.Close()
	appDir, err := openDir(int(root.Fd()), s.App)
	if err != nil {
		return nil
	}
	defer appDir.Close()
	dir, err := openDir(int(appDir.Fd()), name)
	if err != nil {
		return nil
	}
	cg := &Cgroup{m: m, app: s.App, name: name, path: filepath.Join(m.Root, s.App, name), dir: dir}
	if data, err := cg.Read("memory.max"); err == nil && strings.TrimSpace(string(data)) != "max" {
		cg.MemoryMax = true
	}
	return cg
}

// Release closes the cgroup's folder and leaves the cgroup as it is: the
// instance keeps running in it after Detach, for the next daemon.
func (cg *Cgroup) Release() {
	if cg == nil {
		return
	}
	cg.mu.Lock()
	defer cg.mu.Unlock()
	if cg.dir != nil {
		cg.dir.Close()
		cg.dir = nil
	}
}

// mkdirs makes <root>/<app>/<name> (each level relative to the
// descriptor of its parent, never following a link) and enables the
// controllers in the app folder. It returns the leaf opened. Caller holds
// m.mu.
func (m *Manager) mkdirs(app, name string) (leaf *os.File, reused bool, err error) {
	root, err := openDir(unix.AT_FDCWD, m.Root)
	if err != nil {
		return nil, false, err
	}
	defer root.Close()
	if err := unix.Mkdirat(int(root.Fd()), app, 0o755); err != nil && !errors.Is(err, unix.EEXIST) {
		return nil, false, fmt.Errorf("mkdir %s: %w", app, err)
	}
	appDir, err := openDir(int(root.Fd()), app)
	if err != nil {
		return nil, false, err
	}
	defer appDir.Close()
	if err := enableControllers(int(appDir.Fd()), m.controllers()); err != nil {
		return nil, false, err
	}
	err = unix.Mkdirat(int(appDir.Fd()), name, 0o755)
	reused = errors.Is(err, unix.EEXIST)
	if err != nil && !reused {
		return nil, false, fmt.Errorf("mkdir %s: %w", name, err)
	}
	leaf, err = openDir(int(appDir.Fd()), name)
	return leaf, reused, err
}

// controllers are the controllers enabled for the instances.
func (m *Manager) controllers() []string {
	var out []string
	if m.Memory {
		out = append(out, "memory")
	}
	if m.CPU {
		out = append(out, "cpu")
	}
	return out
}

// openDir opens the folder name relative to dirfd, refusing a symbolic
// link (O_NOFOLLOW) and anything but a folder.
func openDir(dirfd int, name string) (*os.File, error) {
	fd, err := unix.Openat(dirfd, name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", name, err)
	}
	return os.NewFile(uintptr(fd), name), nil
}

// SetLimits writes memory.max and cpu.max (a limit, or "max" for none)
// where the controllers are available. With a memory limit, the whole
// instance is OOM-killed together (memory.oom.group, as the kubelet does)
// and does not swap (memory.swap.max 0), where those files exist.
func (cg *Cgroup) SetLimits(s runtime.StartSpec) error {
	if cg.m.Memory {
		limit := runtime.MemoryLimit(s.Spec)
		value := "max"
		if limit > 0 {
			value = strconv.FormatInt(limit, 10)
		}
		if err := cg.Write("memory.max", value); err != nil {
			return err
		}
		if limit > 0 {
			cg.MemoryMax = true
			for _, f := range [][2]string{{"memory.oom.group", "1"}, {"memory.swap.max", "0"}} {
				if cg.exists(f[0]) {
					if err := cg.Write(f[0], f[1]); err != nil {
						cg.m.log.Warn("setting an instance's cgroup", "cgroup", cg.path, "err", err)
					}
				}
			}
		}
	}
	if cg.m.CPU {
		value := "max " + strconv.Itoa(cpuPeriod)
		if millis := runtime.CPULimitMillis(s.Spec); millis > 0 {
			// millicores/1000 of a CPU per period; the kernel's floor is 1 ms.
			quota := max(millis*cpuPeriod/1000, 1000)
			value = strconv.FormatInt(quota, 10) + " " + strconv.Itoa(cpuPeriod)
		}
		if err := cg.Write("cpu.max", value); err != nil {
			return err
		}
	}
	return nil
}

// errRemoved: the cgroup was removed (its folder closed).
var errRemoved = errors.New("cgroup removed")

// withDir runs f with the descriptor of the cgroup's folder, held open
// meanwhile.
func (cg *Cgroup) withDir(f func(fd int) error) error {
	cg.mu.Lock()
	defer cg.mu.Unlock()
	if cg.dir == nil {
		return errRemoved
	}
	return f(int(cg.dir.Fd()))
}

func (cg *Cgroup) Write(file, value string) error {
	return cg.withDir(func(fd int) error { return writeAt(fd, file, value) })
}

func (cg *Cgroup) exists(file string) bool {
	return cg.withDir(func(fd int) error {
		if !existsAt(fd, file) {
			return os.ErrNotExist
		}
		return nil
	}) == nil
}

func (cg *Cgroup) Read(file string) ([]byte, error) {
	var data []byte
	err := cg.withDir(func(fd int) (err error) {
		data, err = readAt(fd, file)
		return err
	})
	return data, err
}

// FD is the cgroup folder's descriptor for CLONE_INTO_CGROUP; -1 once
// removed.
func (cg *Cgroup) FD() int {
	cg.mu.Lock()
	defer cg.mu.Unlock()
	if cg.dir == nil {
		return -1
	}
	return int(cg.dir.Fd())
}

// AddProc moves pid into the cgroup (the fallback when the process could
// not be started in it).
func (cg *Cgroup) AddProc(pid int) error {
	if cg == nil {
		return nil
	}
	return cg.Write("cgroup.procs", strconv.Itoa(pid))
}

// Procs lists the processes in the cgroup.
func (cg *Cgroup) Procs() []int {
	data, err := cg.Read("cgroup.procs")
	if err != nil {
		return nil
	}
	var out []int
	self := os.Getpid()
	for _, f := range strings.Fields(string(data)) {
		if pid, err := strconv.Atoi(f); err == nil && pid > 1 && pid != self {
			out = append(out, pid)
		}
	}
	return out
}

// Signal sends sig to every process in the cgroup: those that left the
// process group (setsid) too, which a group signal misses.
func (cg *Cgroup) Signal(sig syscall.Signal) {
	if cg == nil {
		return
	}
	for _, pid := range cg.Procs() {
		unix.Kill(pid, sig)
	}
}

// Kill SIGKILLs everything in the cgroup, through cgroup.kill where the
// kernel has it (5.14+: no pid can be reused meanwhile), and pid by pid.
func (cg *Cgroup) Kill() {
	if cg == nil {
		return
	}
	if !cg.m.fake && cg.exists("cgroup.kill") {
		if err := cg.Write("cgroup.kill", "1"); err != nil {
			cg.m.log.Debug("cgroup.kill", "cgroup", cg.path, "err", err)
		}
	}
	cg.Signal(unix.SIGKILL)
}

// oomKills reads the oom_kill count of memory.events (0 without it).
func (cg *Cgroup) oomKills() int64 {
	data, err := cg.Read("memory.events")
	if err != nil {
		return 0
	}
	for _, line := range bytes.Split(data, []byte("\n")) {
		if v, ok := bytes.CutPrefix(line, []byte("oom_kill ")); ok {
			n, _ := strconv.ParseInt(string(bytes.TrimSpace(v)), 10, 64)
			return n
		}
	}
	return 0
}

// Exited is called by the waiter once the instance's main process has
// exited and its group was killed: it kills what is left in the cgroup,
// tells whether the kernel OOM-killed a process of it since it was made,
// and removes it.
func (cg *Cgroup) Exited() (oomKilled bool) {
	if cg == nil {
		return false
	}
	cg.Kill()
	oomKilled = cg.oomKills() > cg.oomBase
	cg.Remove()
	return oomKilled
}

// Remove deletes the cgroup once its processes are gone (waiting for them
// at most cgroupRemoveWait), then its app folder if that is empty. A cgroup
// that will not go is logged and left: the next start of the uid reuses it.
func (cg *Cgroup) Remove() {
	if cg == nil {
		return
	}
	cg.mu.Lock()
	dir := cg.dir
	cg.dir = nil
	cg.mu.Unlock()
	if dir == nil {
		return
	}
	if cg.m.fake {
		removeFakeFiles(dir)
	}
	dir.Close()
	m := cg.m
	m.mu.Lock()
	defer m.mu.Unlock()
	root, err := openDir(unix.AT_FDCWD, m.Root)
	if err != nil {
		m.log.Warn("removing an instance's cgroup", "cgroup", cg.path, "err", err)
		return
	}
	defer root.Close()
	appDir, err := openDir(int(root.Fd()), cg.app)
	if err != nil {
		m.log.Warn("removing an instance's cgroup", "cgroup", cg.path, "err", err)
		return
	}
	defer appDir.Close()
	deadline := time.Now().Add(cgroupRemoveWait)
	wait := time.Millisecond
	for {
		err = unix.Unlinkat(int(appDir.Fd()), cg.name, unix.AT_REMOVEDIR)
		if err == nil || errors.Is(err, unix.ENOENT) || !errors.Is(err, unix.EBUSY) || time.Now().After(deadline) {
			break
		}
		// EBUSY: killed processes still leaving the cgroup.
		t := time.NewTimer(wait)
		<-t.C
		wait = min(2*wait, 100*time.Millisecond)
	}
	if err != nil && !errors.Is(err, unix.ENOENT) {
		m.log.Warn("cannot remove an instance's cgroup", "cgroup", cg.path, "err", err)
		return
	}
	if cg.m.fake {
		if app, err := openDir(int(root.Fd()), cg.app); err == nil {
			removeFakeFiles(app)
			app.Close()
		}
	}
	// The app folder goes with its last instance; ENOTEMPTY or EBUSY
	// while others remain.
	unix.Unlinkat(int(root.Fd()), cg.app, unix.AT_REMOVEDIR)
}

// removeFakeFiles deletes the regular files of a fake cgroup folder,
// which cgroupfs would drop with the folder itself.
func removeFakeFiles(dir *os.File) {
	names, err := dir.Readdirnames(-1)
	if err != nil {
		return
	}
	for _, n := range names {
		var st unix.Stat_t
		if unix.Fstatat(int(dir.Fd()), n, &st, unix.AT_SYMLINK_NOFOLLOW) == nil && st.Mode&unix.S_IFMT == unix.S_IFREG {
			unix.Unlinkat(int(dir.Fd()), n, 0)
		}
	}
}

// Path is the cgroup's folder, for messages.
func (cg *Cgroup) Path() string { return cg.path }
