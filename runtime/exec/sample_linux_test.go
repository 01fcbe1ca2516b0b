package exec

import (
	"context"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/shirou/gopsutil/v4/process"
	"golang.org/x/sys/unix"

	"proclet.dev/proclet/apis/v1alpha1"

	"proclet.dev/proclet/runtime"
)

// newSamplingExec is an Runtime sampling every interval, with Run going;
// Cleanup kills every instance's group and stops Run.
func newSamplingExec(t *testing.T, interval time.Duration, onSample func()) *Runtime {
	t.Helper()
	e, err := New(Options{StateDir: t.TempDir(), Log: slog.New(slog.DiscardHandler),
		Env: []string{"PATH=/usr/local/bin:/usr/bin:/bin"}, SampleInterval: interval, OnSample: onSample})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.Run(ctx) }()
	t.Cleanup(func() {
		e.mu.Lock()
		for _, h := range e.handles {
			unix.Kill(-h.pid, unix.SIGKILL)
		}
		e.mu.Unlock()
		sctx, scancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer scancel()
		if err := e.StopAll(sctx, "TestCleanup"); err != nil {
			t.Errorf("cleanup: %v", err)
		}
		cancel()
		<-done
	})
	return e
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// TestSample_ProcessTree runs a workload with children, grandchildren, a
// child that left the group (setsid) and an HTTP port, and checks the
// usage the Runtime writes into State: the whole tree's RSS, the port, a
// counter that never goes down, and no Event for a sample.
func TestSample_ProcessTree(t *testing.T) {
	var samples atomic.Int64
	e := newSamplingExec(t, 20*time.Millisecond, func() { samples.Add(1) })
	port := freePort(t)
	spec := runtime.StartSpec{UID: "uid-tree", App: "web", Instance: "web-0", Revision: "r1", Dir: t.TempDir(),
		Spec: &v1alpha1.AppSpec{Command: []string{workload, "--port", strconv.Itoa(port), "--children", "2",
			"--grandchildren", "--setsid-child", "--alloc", "48Mi"}}}
	st, err := e.Start(t.Context(), spec)
	if err != nil {
		t.Fatal(err)
	}
	// The setsid child leads a group of its own that killing the
	// instance's group misses: kill it first (cleanups run last in, first
	// out, so the instance still runs and is still its parent).
	t.Cleanup(func() {
		for _, pid := range processes(func(p procStat) bool { return p.ppid == st.PID && p.pgid != st.PID }) {
			unix.Kill(-pid, unix.SIGKILL)
		}
	})
	var u runtime.Usage
	waitFor(t, 10*time.Second, "the port and 48 MiB in the sample", func() bool {
		u = e.Instances("web")[0].Usage
		return slices.Contains(u.Listening, int32(port)) && u.MemoryBytes >= 48<<20
	})

	if all := e.AllInstances(); len(all) != 1 || all[0].UID != "uid-tree" || all[0].Usage.MemoryBytes == 0 {
		t.Fatalf("AllInstances: %+v", all)
	}

	// Every process the workload forked is in the tree, also the one that
	// left the group.
	// Each child forks its grandchild on its own time, after the port
	// and the memory above may show: poll.
	var tree []int
	escaped := false
	waitFor(t, 10*time.Second, "the workload's six processes", func() bool {
		tree, escaped = nil, false
		for _, pid := range processes(func(p procStat) bool { return p.pgid == st.PID }) {
			tree = append(tree, pid)
		}
		for _, pid := range processes(func(p procStat) bool { return p.ppid == st.PID && p.pgid != st.PID }) {
			tree, escaped = append(tree, pid), true
		}
		return escaped && len(tree) >= 6
	})
	s := newSampler("/proc")
	dirfd, err := unix.Open("/proc", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(dirfd)
	trees, err := s.readTrees(dirfd, []sampleTarget{{pid: st.PID}}, true)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.close)
	var got []int
	for _, p := range trees[st.PID] {
		got = append(got, p.pid)
	}
	for _, pid := range tree {
		if !slices.Contains(got, pid) {
			t.Errorf("pid %d of the instance is not in the sampled tree %v", pid, got)
		}
	}

	// The counter never goes down, the sample time moves, and sampling
	// sent no event.
	prev := u
	for range 5 {
		n := samples.Load()
		waitFor(t, 5*time.Second, "another sample", func() bool { return samples.Load() > n+1 })
		cur := e.Instances("web")[0].Usage
		if cur.CPUSeconds < prev.CPUSeconds || !cur.SampledAt.After(prev.SampledAt) || cur.CPUPercent < 0 {
			t.Fatalf("usage went back: %+v then %+v", prev, cur)
		}
		prev = cur
	}
	select {
	case ev := <-e.Events():
		t.Fatalf("sampling sent an event: %+v", ev)
	default:
	}
}

// TestSample_CountsReapedChildren burns CPU only in short-lived children
// that live and die between two passes: their time must reach the counter
// through the parent's cutime.
func TestSample_CountsReapedChildren(t *testing.T) {
	dir := t.TempDir()
	done := filepath.Join(dir, "done")
	script := `i=0; while [ $i -lt 4 ]; do (j=0; while [ $j -lt 60000 ]; do j=$((j+1)); done); i=$((i+1)); done; : > ` + done + `; exec sleep 1000`
	cmd := exec.Command("/bin/sh", "-c", script)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Kill(-cmd.Process.Pid, unix.SIGKILL); cmd.Wait() })
	s := newSampler("/proc")
	t.Cleanup(s.close)
	target := []sampleTarget{{uid: "sh", pid: cmd.Process.Pid, startedAt: time.Now()}}
	if _, err := s.pass(time.Now(), target); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 60*time.Second, "the busy children to finish", func() bool {
		_, err := os.Stat(done)
		return err == nil
	})
	u, err := s.pass(time.Now(), target)
	if err != nil {
		t.Fatal(err)
	}
	// What the shell's reaped children used, as the kernel tells it.
	b, err := os.ReadFile("/proc/" + strconv.Itoa(cmd.Process.Pid) + "/stat")
	if err != nil {
		t.Fatal(err)
	}
	p, err := parseStat(b)
	if err != nil {
		t.Fatal(err)
	}
	children := float64(p.children) / clockTicks
	if children < 0.05 {
		t.Fatalf("the children used only %.2fs: the test measures nothing", children)
	}
	if got := u["sh"].CPUSeconds; got < children {
		t.Fatalf("counter %.2fs, less than the %.2fs the reaped children used", got, children)
	}
}

// TestSample_Disabled checks that a negative interval samples nothing.
func TestSample_Disabled(t *testing.T) {
	var samples atomic.Int64
	e := newSamplingExec(t, -1, func() { samples.Add(1) })
	if _, err := e.Start(t.Context(), runtime.StartSpec{UID: "u", App: "web", Instance: "web-0", Dir: t.TempDir(),
		Spec: &v1alpha1.AppSpec{Command: []string{workload}}}); err != nil {
		t.Fatal(err)
	}
	if u := e.Instances("web")[0].Usage; !u.SampledAt.IsZero() || samples.Load() != 0 {
		t.Fatalf("sampled with sampling off: %+v", u)
	}
}

// sleepers starts n sleeping processes, each leading its own process
// group as an instance does, and kills them when the benchmark ends.
func sleepers(b *testing.B, n int) []sampleTarget {
	b.Helper()
	targets := make([]sampleTarget, 0, n)
	var cmds []*exec.Cmd
	b.Cleanup(func() {
		for _, c := range cmds {
			unix.Kill(-c.Process.Pid, unix.SIGKILL)
		}
		for _, c := range cmds {
			c.Wait()
		}
	})
	for i := range n {
		c := exec.Command("/bin/sleep", "1000")
		c.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		if err := c.Start(); err != nil {
			b.Fatalf("starting sleeper %d: %v", i, err)
		}
		cmds = append(cmds, c)
		targets = append(targets, sampleTarget{uid: strconv.Itoa(i), pid: c.Process.Pid, startedAt: time.Now()})
	}
	return targets
}

// BenchmarkSample1000 is one sampling pass over 1000 real instances (1000
// sleeping processes, each its own group), as the Runtime does it, and the
// same measurements through gopsutil for comparison.
func BenchmarkSample1000(b *testing.B) {
	targets := sleepers(b, 1000)
	b.Run("proc", func(b *testing.B) {
		s := newHostSampler()
		defer s.close()
		for b.Loop() {
			u, err := s.pass(time.Now(), targets)
			if err != nil || len(u) != len(targets) {
				b.Fatalf("sampled %d of %d: %v", len(u), len(targets), err)
			}
		}
	})
	b.Run("gopsutil", func(b *testing.B) {
		for b.Loop() {
			if n := gopsutilPass(b, targets); n != len(targets) {
				b.Fatalf("sampled %d of %d", n, len(targets))
			}
		}
	})
}

// gopsutilPass is the same pass through gopsutil: every process's group
// and parent (to find the trees), then times and RSS of the tree's
// processes, then the listening sockets by pid. It returns how many
// targets it found.
func gopsutilPass(b *testing.B, targets []sampleTarget) int {
	ctx := context.Background()
	leader := map[int32]bool{}
	for _, t := range targets {
		leader[int32(t.pid)] = true
	}
	procs, err := process.ProcessesWithContext(ctx)
	if err != nil {
		b.Fatal(err)
	}
	found := map[int32]bool{}
	for _, p := range procs {
		pgid, err := unix.Getpgid(int(p.Pid)) // gopsutil has no accessor for it
		if err != nil {
			continue
		}
		if _, err := p.PpidWithContext(ctx); err != nil {
			continue
		}
		if !leader[int32(pgid)] {
			continue
		}
		if _, err := p.TimesWithContext(ctx); err != nil {
			continue
		}
		if _, err := p.MemoryInfoWithContext(ctx); err != nil {
			continue
		}
		if _, err := p.ConnectionsWithContext(ctx); err != nil {
			continue
		}
		found[int32(pgid)] = true
	}
	return len(found)
}

// BenchmarkSampleFixture1000 is a pass over a synthetic /proc of 1000
// instances of 2 processes each (the fallback when real processes cannot
// be started).
func BenchmarkSampleFixture1000(b *testing.B) {
	root := b.TempDir()
	var procs []procSample
	var targets []sampleTarget
	for i := range 1000 {
		pid := 1000 + 2*i
		procs = append(procs, procSample{pid: pid, ppid: 1, pgrp: pid, start: 1, self: 10, rssPages: 100},
			procSample{pid: pid + 1, ppid: pid, pgrp: pid, start: 1, self: 10, rssPages: 100})
		targets = append(targets, sampleTarget{uid: strconv.Itoa(i), pid: pid})
	}
	writeFixture(b, root, procs, nil, fixtureTCP)
	s := newSampler(root)
	defer s.close()
	for b.Loop() {
		if u, err := s.pass(time.Now(), targets); err != nil || len(u) != 1000 {
			b.Fatalf("sampled %d: %v", len(u), err)
		}
	}
}
