package exec

// This file holds the cgroup v2 side of the limits: with --cgroup-root
// (Options.CgroupRoot, a subtree delegated to the daemon) every
// instance gets a cgroup of its own, <root>/<app>/<instance>-<uid8>, with
// memory.max and cpu.max from its spec where the controllers are there. See
// "Limits" in doc.go.

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
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

// cpuPeriod is the cpu.max period, in microseconds (the kernel's default).
const cpuPeriod = 100000

// cgroupRemoveWait bounds how long the waiter waits for the killed
// processes of an instance's cgroup to leave it before giving up the rmdir.
const cgroupRemoveWait = 2 * time.Second

// cgroupManager creates and removes the instances' cgroups under root. It
// never creates anything outside root: every folder is made and opened
// relative to its parent's descriptor, one name at a time, without
// following a symbolic link.
type cgroupManager struct {
	root    string // absolute and resolved
	fake    bool   // a plain folder standing for cgroupfs (tests)
	memory  bool   // the memory controller is available to the instances
	cpu     bool   // the cpu controller is available to the instances
	problem string // why a controller is missing, for runtime.LimitSupport
	log     *slog.Logger

	// mu serialises creating and removing the app folders, so that an
	// instance's cgroup is never created in an app folder being removed.
	mu sync.Mutex
	// cloneWarned: CLONE_INTO_CGROUP failed once and that was logged.
	cloneWarned bool // guarded by mu
}

// newCgroupManager checks root and enables the memory and cpu controllers
// for its children. A root that is not a cgroup2 folder is refused, unless
// fake (a test's plain folder). A missing controller is not an error: the
// limits it would enforce are reported as not enforced (LimitSupport).
func newCgroupManager(root string, fake bool, log *slog.Logger) (*cgroupManager, error) {
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
	m := &cgroupManager{root: abs, fake: fake, log: log}
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
				m.problem = joinProblem(m.problem, fmt.Sprintf("cannot enable the %s controller in %s/cgroup.subtree_control: %v", c, abs, err))
				continue
			}
			ok = append(ok, c)
		}
		present = ok
	}
	m.memory, m.cpu = contains(present, "memory"), contains(present, "cpu")
	if len(missing) > 0 {
		m.problem = joinProblem(fmt.Sprintf("%s/cgroup.controllers has no %s controller (delegate it to proclet)",
			abs, strings.Join(missing, " or ")), m.problem)
	}
	if m.problem != "" {
		log.Warn("cgroup limits partly unavailable", "cgroup_root", abs, "problem", m.problem)
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

// instanceCgroup is one instance's cgroup. Its methods are safe for
// concurrent use and do nothing on a nil receiver (no cgroup root).
type instanceCgroup struct {
	m         *cgroupManager
	app       string
	name      string // <instance>-<uid8>
	path      string
	memoryMax bool  // memory.max holds a limit: the kernel enforces it
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

// create makes the cgroup of s and writes its limits. A folder left from
// an earlier start of the same uid (a stuck rmdir, a daemon killed before
// it cleaned up) is reused, after whatever still runs in it is killed: at
// no moment do two processes run for one instance.
func (m *cgroupManager) create(s runtime.StartSpec) (*instanceCgroup, error) {
	if m == nil {
		return nil, nil
	}
	name := cgroupName(s)
	for _, n := range []string{s.App, name} {
		if !fileNameSafe(n) || strings.HasPrefix(n, ".") || strings.HasPrefix(n, "cgroup.") {
			return nil, fmt.Errorf("cgroup: invalid name %q", n)
		}
	}
	cg := &instanceCgroup{m: m, app: s.App, name: name, path: filepath.Join(m.root, s.App, name)}
	m.mu.Lock()
	dir, reused, err := m.mkdirs(s.App, name)
	m.mu.Unlock()
	if err != nil {
		return nil, fmt.Errorf("cgroup %s: %w", cg.path, err)
	}
	cg.dir = dir
	if reused {
		m.log.Warn("instance cgroup left from an earlier start; killing what runs in it", "cgroup", cg.path)
		cg.kill()
	}
	if err := cg.setLimits(s); err != nil {
		cg.remove()
		return nil, fmt.Errorf("cgroup %s: %w", cg.path, err)
	}
	cg.oomBase = cg.oomKills()
	return cg, nil
}

// reopen returns the cgroup an earlier daemon made for s, nil when there
// is none (or no cgroup root): for adoption, so that an adopted instance's
// stop reaches its whole cgroup and its exit is read (OOMKilled) and
// cleaned up like any other. OOM kills are counted from the cgroup's
// creation.
func (m *cgroupManager) reopen(s runtime.StartSpec) *instanceCgroup {
	if m == nil {
		return nil
	}
	name := cgroupName(s)
	if !fileNameSafe(s.App) || !fileNameSafe(name) {
		return nil
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	root, err := openDir(unix.AT_FDCWD, m.root)
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
	cg := &instanceCgroup{m: m, app: s.App, name: name, path: filepath.Join(m.root, s.App, name), dir: dir}
	if data, err := cg.read("memory.max"); err == nil && strings.TrimSpace(string(data)) != "max" {
		cg.memoryMax = true
	}
	return cg
}

// release closes the cgroup's folder and leaves the cgroup as it is: the
// instance keeps running in it after Detach, for the next daemon.
func (cg *instanceCgroup) release() {
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
func (m *cgroupManager) mkdirs(app, name string) (leaf *os.File, reused bool, err error) {
	root, err := openDir(unix.AT_FDCWD, m.root)
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
func (m *cgroupManager) controllers() []string {
	var out []string
	if m.memory {
		out = append(out, "memory")
	}
	if m.cpu {
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

// setLimits writes memory.max and cpu.max (a limit, or "max" for none)
// where the controllers are available. With a memory limit, the whole
// instance is OOM-killed together (memory.oom.group, as the kubelet does)
// and does not swap (memory.swap.max 0), where those files exist.
func (cg *instanceCgroup) setLimits(s runtime.StartSpec) error {
	if cg.m.memory {
		limit := runtime.MemoryLimit(s.Spec)
		value := "max"
		if limit > 0 {
			value = strconv.FormatInt(limit, 10)
		}
		if err := cg.write("memory.max", value); err != nil {
			return err
		}
		if limit > 0 {
			cg.memoryMax = true
			for _, f := range [][2]string{{"memory.oom.group", "1"}, {"memory.swap.max", "0"}} {
				if cg.exists(f[0]) {
					if err := cg.write(f[0], f[1]); err != nil {
						cg.m.log.Warn("setting an instance's cgroup", "cgroup", cg.path, "err", err)
					}
				}
			}
		}
	}
	if cg.m.cpu {
		value := "max " + strconv.Itoa(cpuPeriod)
		if millis := runtime.CPULimitMillis(s.Spec); millis > 0 {
			// millicores/1000 of a CPU per period; the kernel's floor is 1 ms.
			quota := max(millis*cpuPeriod/1000, 1000)
			value = strconv.FormatInt(quota, 10) + " " + strconv.Itoa(cpuPeriod)
		}
		if err := cg.write("cpu.max", value); err != nil {
			return err
		}
	}
	return nil
}

// errRemoved: the cgroup was removed (its folder closed).
var errRemoved = errors.New("cgroup removed")

// withDir runs f with the descriptor of the cgroup's folder, held open
// meanwhile.
func (cg *instanceCgroup) withDir(f func(fd int) error) error {
	cg.mu.Lock()
	defer cg.mu.Unlock()
	if cg.dir == nil {
		return errRemoved
	}
	return f(int(cg.dir.Fd()))
}

func (cg *instanceCgroup) write(file, value string) error {
	return cg.withDir(func(fd int) error { return writeAt(fd, file, value) })
}

func (cg *instanceCgroup) exists(file string) bool {
	return cg.withDir(func(fd int) error {
		if !existsAt(fd, file) {
			return os.ErrNotExist
		}
		return nil
	}) == nil
}

func (cg *instanceCgroup) read(file string) ([]byte, error) {
	var data []byte
	err := cg.withDir(func(fd int) (err error) {
		data, err = readAt(fd, file)
		return err
	})
	return data, err
}

// fd is the cgroup folder's descriptor for CLONE_INTO_CGROUP; -1 once
// removed.
func (cg *instanceCgroup) fd() int {
	cg.mu.Lock()
	defer cg.mu.Unlock()
	if cg.dir == nil {
		return -1
	}
	return int(cg.dir.Fd())
}

// addProc moves pid into the cgroup (the fallback when the process could
// not be started in it).
func (cg *instanceCgroup) addProc(pid int) error {
	if cg == nil {
		return nil
	}
	return cg.write("cgroup.procs", strconv.Itoa(pid))
}

// procs lists the processes in the cgroup.
func (cg *instanceCgroup) procs() []int {
	data, err := cg.read("cgroup.procs")
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

// signal sends sig to every process in the cgroup: those that left the
// process group (setsid) too, which a group signal misses (TRAPS 28).
func (cg *instanceCgroup) signal(sig syscall.Signal) {
	if cg == nil {
		return
	}
	for _, pid := range cg.procs() {
		unix.Kill(pid, sig)
	}
}

// kill SIGKILLs everything in the cgroup, through cgroup.kill where the
// kernel has it (5.14+: no pid can be reused meanwhile), and pid by pid.
func (cg *instanceCgroup) kill() {
	if cg == nil {
		return
	}
	if !cg.m.fake && cg.exists("cgroup.kill") {
		if err := cg.write("cgroup.kill", "1"); err != nil {
			cg.m.log.Debug("cgroup.kill", "cgroup", cg.path, "err", err)
		}
	}
	cg.signal(unix.SIGKILL)
}

// oomKills reads the oom_kill count of memory.events (0 without it).
func (cg *instanceCgroup) oomKills() int64 {
	data, err := cg.read("memory.events")
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

// exited is called by the waiter once the instance's main process has
// exited and its group was killed: it kills what is left in the cgroup,
// tells whether the kernel OOM-killed a process of it since it was made,
// and removes it.
func (cg *instanceCgroup) exited() (oomKilled bool) {
	if cg == nil {
		return false
	}
	cg.kill()
	oomKilled = cg.oomKills() > cg.oomBase
	cg.remove()
	return oomKilled
}

// remove deletes the cgroup once its processes are gone (waiting for them
// at most cgroupRemoveWait), then its app folder if that is empty. A cgroup
// that will not go is logged and left: the next start of the uid reuses it.
func (cg *instanceCgroup) remove() {
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
	root, err := openDir(unix.AT_FDCWD, m.root)
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
