package exec

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"proclet.dev/proclet/runtime"
	"proclet.dev/proclet/runtime/internal/testutil"
	"proclet.dev/proclet/runtime/procfs"
)

func readTrim(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(data))
}

// The whole life of an instance's cgroup on a fake cgroupfs: the limits
// written, the pid moved in (CLONE_INTO_CGROUP fails on a plain folder, so
// the fallback), OOMKilled read from memory.events, the cgroup removed
// after the exit, nothing created outside the root.
func TestCgroup_FakeFSLifecycle(t *testing.T) {
	t.Parallel()
	root, parent := testutil.FakeCgroupRoot(t, "cpuset cpu io memory pids")
	h := newHarnessWith(t, Options{CgroupRoot: root, fakeCgroupFS: true})
	if ls := h.e.LimitSupport(); !ls.Memory || !ls.CPU || ls.CgroupRoot != root || ls.Problem != "" {
		t.Fatalf("LimitSupport = %+v, want memory and cpu under %s", ls, root)
	}
	if got := readTrim(t, filepath.Join(root, "cgroup.subtree_control")); got != "+memory +cpu" {
		t.Errorf("root cgroup.subtree_control = %q, want +memory +cpu", got)
	}

	s := testutil.WithLimits(h.spec(workload), "64Mi", "500m")
	s.UID = "0123456789abcdef"
	st := h.startReady(s)
	leaf := filepath.Join(root, "web", s.Instance+"-01234567")
	for file, want := range map[string]string{
		filepath.Join(root, "web", "cgroup.subtree_control"): "+memory +cpu",
		filepath.Join(leaf, "memory.max"):                    strconv.Itoa(64 << 20),
		filepath.Join(leaf, "cpu.max"):                       "50000 100000",
		filepath.Join(leaf, "cgroup.procs"):                  strconv.Itoa(st.PID),
	} {
		if got := readTrim(t, file); got != want {
			t.Errorf("%s = %q, want %q", file, got, want)
		}
	}

	// The kernel OOM-kills the instance: memory.events counts it, the
	// process dies of SIGKILL.
	if err := os.WriteFile(filepath.Join(leaf, "memory.events"), []byte("low 0\nhigh 0\nmax 3\noom 1\noom_kill 1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	unix.Kill(st.PID, unix.SIGKILL)
	x := h.waitExit(s.UID, 5*time.Second).Exit
	if x.Reason != runtime.ReasonOOMKilled || x.Signal != "SIGKILL" || x.Code != 137 {
		t.Errorf("exit = %+v, want OOMKilled by SIGKILL (137)", x)
	}
	if got := testutil.Tree(t, parent); !slices.Equal(got, []string{"cgroup", "cgroup/cgroup.controllers", "cgroup/cgroup.subtree_control"}) {
		t.Errorf("after the exit, %s holds %q: want the instance's cgroup and its app folder gone, nothing outside the root", parent, got)
	}
}

// A limit left unset is written as "max"; a clean exit is not OOMKilled;
// a restart under the same uid gets its cgroup again.
func TestCgroup_FakeFSNoLimitsAndRestart(t *testing.T) {
	t.Parallel()
	root, _ := testutil.FakeCgroupRoot(t, "memory cpu")
	h := newHarnessWith(t, Options{CgroupRoot: root, fakeCgroupFS: true})
	s := h.spec(workload, "--exit-after", "0")
	leaf := filepath.Join(root, "web", s.Instance+"-"+s.UID)
	for range 2 {
		h.start(s)
		x := h.waitExit(s.UID, 5*time.Second).Exit
		if x.Reason != "Completed" {
			t.Errorf("exit = %+v, want Completed", x)
		}
		if _, err := os.Stat(leaf); !isNotExist(err) {
			t.Errorf("cgroup %s after the exit: %v, want it removed", leaf, err)
		}
		h.e.Release(s.UID)
	}

	s = h.spec(workload)
	leaf = filepath.Join(root, "web", s.Instance+"-"+s.UID)
	h.startReady(s)
	if got := readTrim(t, filepath.Join(leaf, "memory.max")); got != "max" {
		t.Errorf("memory.max = %q, want max", got)
	}
	if got := readTrim(t, filepath.Join(leaf, "cpu.max")); got != "max 100000" {
		t.Errorf("cpu.max = %q, want max 100000", got)
	}
}

// Stop signals every process of the cgroup, also one that left the
// process group (setsid), which a group signal misses. On a
// fake cgroupfs the test writes the escapee's pid into cgroup.procs, as
// the kernel would list it.
func TestCgroup_StopReachesEscapees(t *testing.T) {
	t.Parallel()
	root, _ := testutil.FakeCgroupRoot(t, "memory cpu")
	h := newHarnessWith(t, Options{CgroupRoot: root, fakeCgroupFS: true})
	s := h.spec(workload, "--setsid-child")
	st := h.startReady(s)
	var child int
	waitFor(t, 5*time.Second, "the setsid child's pid", func() bool {
		data, _ := readLog(h.logPath(s, "stdout"))
		if pids := childPIDs(string(data)); len(pids) == 1 {
			child = pids[0]
		}
		return child != 0
	})
	t.Cleanup(func() { unix.Kill(child, unix.SIGKILL) })
	if pg, _ := readProcStat(child); pg.pgid == st.PID {
		t.Fatalf("child %d is in the instance's group: not an escapee", child)
	}
	procs := filepath.Join(root, "web", s.Instance+"-"+s.UID, "cgroup.procs")
	if err := os.WriteFile(procs, []byte(fmt.Sprintf("%d\n%d\n", st.PID, child)), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := h.e.Stop(s.UID, runtime.StopSpec{Signal: unix.SIGTERM, Grace: 5 * time.Second}); err != nil {
		t.Fatal(err)
	}
	h.waitExit(s.UID, 5*time.Second)
	waitFor(t, 5*time.Second, "the escapee to die", func() bool { return !alive(child) })
}

// Every folder is made relative to its parent without following links: an
// app folder that is a link out of the root fails the start, and nothing
// is written where it points.
func TestCgroup_NeverOutsideTheRoot(t *testing.T) {
	t.Parallel()
	root, parent := testutil.FakeCgroupRoot(t, "memory cpu")
	outside := filepath.Join(parent, "outside")
	if err := os.Mkdir(outside, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(root, "web")); err != nil {
		t.Fatal(err)
	}
	h := newHarnessWith(t, Options{CgroupRoot: root, fakeCgroupFS: true})
	s := testutil.WithLimits(h.spec(workload), "64Mi", "")
	if st, err := h.e.Start(t.Context(), s); err == nil {
		h.mu.Lock()
		h.pids = append(h.pids, startedPID{st.PID, procfs.StartTicks(st.PID)})
		h.mu.Unlock()
		t.Fatalf("start through a linked app folder succeeded")
	} else if !strings.Contains(err.Error(), "cgroup") {
		t.Errorf("error = %v, want a cgroup error", err)
	}
	if got := testutil.Tree(t, outside); len(got) != 0 {
		t.Errorf("written outside the root: %q", got)
	}
	if len(h.e.Instances("web")) != 0 {
		t.Errorf("a failed start kept a handle")
	}
}

func TestCgroup_RootChecks(t *testing.T) {
	t.Parallel()
	// A plain folder is not a cgroup2 folder.
	_, err := New(Options{StateDir: t.TempDir(), CgroupRoot: t.TempDir()})
	if err == nil || !strings.Contains(err.Error(), "not a cgroup v2 folder") {
		t.Errorf("New on a plain folder: %v, want refused", err)
	}
	_, err = New(Options{StateDir: t.TempDir(), CgroupRoot: filepath.Join(t.TempDir(), "missing"), fakeCgroupFS: true})
	if err == nil {
		t.Errorf("New on a missing root succeeded")
	}

	// No cpu controller delegated: memory works, cpu is reported missing
	// and never written.
	root, _ := testutil.FakeCgroupRoot(t, "memory pids")
	h := newHarnessWith(t, Options{CgroupRoot: root, fakeCgroupFS: true})
	ls := h.e.LimitSupport()
	if !ls.Memory || ls.CPU || !strings.Contains(ls.Problem, "no cpu controller") {
		t.Errorf("LimitSupport = %+v, want memory, no cpu, and why", ls)
	}
	s := testutil.WithLimits(h.spec(workload), "32Mi", "250m")
	h.startReady(s)
	leaf := filepath.Join(root, "web", s.Instance+"-"+s.UID)
	if _, err := os.Stat(filepath.Join(leaf, "cpu.max")); !isNotExist(err) {
		t.Errorf("cpu.max written without the cpu controller: %v", err)
	}
	if got := readTrim(t, filepath.Join(leaf, "memory.max")); got != strconv.Itoa(32<<20) {
		t.Errorf("memory.max = %q", got)
	}
}

// realCgroup2 returns a cgroup2 mount this test may create folders in, or
// skips: it needs root and a cgroup v2 hierarchy (unified or hybrid).
func realCgroup2(t *testing.T) string {
	t.Helper()
	if os.Geteuid() != 0 {
		skipUnlessCI(t, "needs root to create cgroups")
	}
	for _, p := range []string{"/sys/fs/cgroup", "/sys/fs/cgroup/unified"} {
		var fs unix.Statfs_t
		if unix.Statfs(p, &fs) == nil && fs.Type == unix.CGROUP2_SUPER_MAGIC {
			return p
		}
	}
	skipUnlessCI(t, "no cgroup v2 hierarchy mounted")
	return ""
}

// skipUnlessCI skips the test, or fails it when CI is set: CI runs as root
// on Linux with a cgroup v2 hierarchy, where a skip would hide a test that
// stopped running.
func skipUnlessCI(t *testing.T, format string, args ...any) {
	t.Helper()
	if os.Getenv("CI") != "" {
		t.Fatalf(format+" (CI is set: this test must run there)", args...)
	}
	t.Skipf(format, args...)
}

// On a real cgroup v2 hierarchy: the instance is born in its cgroup
// (CLONE_INTO_CGROUP), so the children it forks at once are in it too;
// the cgroup goes with the instance.
func TestCgroup_RealCloneIntoCgroup(t *testing.T) {
	t.Parallel()
	mount := realCgroup2(t)
	root, err := os.MkdirTemp(mount, "proclet-test-")
	if err != nil {
		skipUnlessCI(t, "cannot create a cgroup under %s: %v", mount, err)
	}
	t.Cleanup(func() {
		// Innermost first; each is empty by now unless the test failed.
		dirs := []string{}
		filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
			if err == nil && d.IsDir() {
				dirs = append(dirs, p)
			}
			return nil
		})
		for i := len(dirs) - 1; i >= 0; i-- {
			if data, err := os.ReadFile(filepath.Join(dirs[i], "cgroup.procs")); err == nil {
				for _, f := range strings.Fields(string(data)) {
					if pid, err := strconv.Atoi(f); err == nil {
						unix.Kill(pid, unix.SIGKILL)
					}
				}
			}
			waitFor(t, 5*time.Second, "rmdir "+dirs[i], func() bool {
				err := unix.Rmdir(dirs[i])
				return err == nil || isNotExist(err)
			})
		}
	})
	h := newHarnessWith(t, Options{CgroupRoot: root})
	t.Logf("real cgroup %s: %+v", root, h.e.LimitSupport())
	s := h.spec(workload, "--children", "2", "--grandchildren")
	st := h.startReady(s)
	rel := strings.TrimPrefix(filepath.Join(root, "web", s.Instance+"-"+s.UID), mount)
	var pids []int
	waitFor(t, 5*time.Second, "two children and two grandchildren", func() bool {
		pids = liveGroup(st.PID)
		return len(pids) == 5
	})
	for _, pid := range pids {
		data, err := os.ReadFile(fmt.Sprintf("/proc/%d/cgroup", pid))
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Contains(strings.Split(strings.TrimSpace(string(data)), "\n"), "0::"+rel) {
			t.Errorf("pid %d is in %q, want 0::%s", pid, data, rel)
		}
	}
	if h.e.cgroups.CloneFailed() {
		t.Errorf("CLONE_INTO_CGROUP failed: the instance was moved into its cgroup after its start")
	}
	procs := readTrim(t, filepath.Join(mount, rel, "cgroup.procs"))
	if n := len(strings.Fields(procs)); n != 5 {
		t.Errorf("cgroup.procs lists %d processes (%q), want 5", n, procs)
	}

	if err := h.e.Stop(s.UID, runtime.StopSpec{Signal: syscall.SIGTERM, Grace: 5 * time.Second}); err != nil {
		t.Fatal(err)
	}
	h.waitExit(s.UID, 10*time.Second)
	if _, err := os.Stat(filepath.Join(mount, rel)); !isNotExist(err) {
		t.Errorf("cgroup after the exit: %v, want removed", err)
	}
	if _, err := os.Stat(filepath.Join(root, "web")); !isNotExist(err) {
		t.Errorf("app cgroup after its last instance: %v, want removed", err)
	}
}
