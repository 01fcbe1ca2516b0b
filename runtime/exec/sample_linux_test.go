package exec

import (
	"context"
	"log/slog"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"proclet.dev/proclet/apis/v1alpha1"

	"proclet.dev/proclet/runtime"
	"proclet.dev/proclet/runtime/internal/testutil"
	"proclet.dev/proclet/runtime/procfs"
)

// newSamplingExec is a Runtime sampling every interval, with Run going;
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

// TestSample_ProcessTree runs a workload with children, grandchildren, a
// child that left the group (setsid) and an HTTP port, and checks the
// usage the Runtime writes into State: the whole tree's RSS, the port, a
// counter that never goes down, and no Event for a sample.
func TestSample_ProcessTree(t *testing.T) {
	var samples atomic.Int64
	e := newSamplingExec(t, 20*time.Millisecond, func() { samples.Add(1) })
	port := int(testutil.FreePort(t))
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
		e.SampleStale() // no memory limit: sampled when read
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
		tree, escaped = processes(func(p procStat) bool { return p.pgid == st.PID }), false
		for _, pid := range processes(func(p procStat) bool { return p.ppid == st.PID && p.pgid != st.PID }) {
			tree, escaped = append(tree, pid), true
		}
		return escaped && len(tree) >= 6
	})
	s := procfs.NewSampler("/proc")
	dirfd, err := unix.Open("/proc", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(dirfd)
	t.Cleanup(s.Close)
	got, err := s.Tree(st.PID)
	if err != nil {
		t.Fatal(err)
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
		waitFor(t, 5*time.Second, "another sample", func() bool { e.SampleStale(); return samples.Load() > n+1 })
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

// An instance whose memory limit is polled is sampled every interval
// with no reader (the reconciler decides on its samples); any other is
// sampled only when read: SampleStale samples it when its sample is an
// interval old or more, and leaves a younger sample as it is.
func TestSample_OnDemandAndPolled(t *testing.T) {
	const interval = time.Second
	var samples atomic.Int64
	e := newSamplingExec(t, interval, func() { samples.Add(1) })
	dir := t.TempDir()
	polled := testutil.WithLimits(runtime.StartSpec{UID: "uid-polled", App: "limited", Instance: "limited-0", Dir: dir,
		Spec: &v1alpha1.AppSpec{Command: []string{workload}}}, "1Gi", "")
	lazy := runtime.StartSpec{UID: "uid-lazy", App: "web", Instance: "web-0", Dir: dir,
		Spec: &v1alpha1.AppSpec{Command: []string{workload}}}
	for _, s := range []runtime.StartSpec{polled, lazy} {
		if _, err := e.Start(t.Context(), s); err != nil {
			t.Fatal(err)
		}
	}
	usage := func(app string) runtime.Usage { return e.Instances(app)[0].Usage }

	var first time.Time
	waitFor(t, 10*time.Second, "two periodic samples of the instance with a memory limit", func() bool {
		u := usage("limited")
		if first.IsZero() {
			first = u.SampledAt
		}
		return !first.IsZero() && u.SampledAt.After(first) && u.MemoryBytes > 0
	})
	if u := usage("web"); !u.SampledAt.IsZero() {
		t.Fatalf("the instance without a limit was sampled with no reader: %+v", u)
	}

	e.SampleStale()
	read := usage("web")
	if read.SampledAt.IsZero() || read.MemoryBytes == 0 {
		t.Fatalf("a read of a never-sampled instance did not sample it: %+v", read)
	}
	if time.Since(read.SampledAt) < interval {
		e.SampleStale() // younger than the interval: kept as it is
		if again := usage("web"); !again.SampledAt.Equal(read.SampledAt) {
			t.Fatalf("a read %s after a sample sampled again: %s then %s", time.Since(read.SampledAt), read.SampledAt, again.SampledAt)
		}
	}
	waitFor(t, 10*time.Second, "the sample to be older than the interval", func() bool {
		return time.Since(read.SampledAt) > interval
	})
	e.SampleStale()
	if fresh := usage("web"); !fresh.SampledAt.After(read.SampledAt) || time.Since(fresh.SampledAt) >= interval {
		t.Fatalf("a read after the interval did not get a fresh sample: %s then %s", read.SampledAt, fresh.SampledAt)
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
	e.SampleStale()
	if u := e.Instances("web")[0].Usage; !u.SampledAt.IsZero() || samples.Load() != 0 {
		t.Fatalf("sampled with sampling off: %+v", u)
	}
}

// The samplers hold /proc/<pid>/stat descriptors only in what the
// descriptor limit leaves once the instances have theirs: with no room
// left they hold none, and usage is still sampled (open, read, close).
func TestSample_StatDescriptorsYieldToInstances(t *testing.T) {
	e := newSamplingExec(t, 20*time.Millisecond, nil)
	var pids []int
	for i := range 3 {
		spec := runtime.StartSpec{UID: "uid-" + strconv.Itoa(i), App: "web", Instance: "web-" + strconv.Itoa(i), Revision: "r1",
			Dir: t.TempDir(), Spec: &v1alpha1.AppSpec{Command: []string{workload, "--children", "2"}}}
		st, err := e.Start(t.Context(), spec)
		if err != nil {
			t.Fatal(err)
		}
		pids = append(pids, st.PID)
	}
	sampledAll := func() bool {
		e.SampleStale()
		for _, st := range e.Instances("web") {
			if st.Usage.MemoryBytes == 0 {
				return false
			}
		}
		return true
	}
	waitFor(t, 10*time.Second, "every instance sampled, its stat held", func() bool { return sampledAll() && heldStats(pids) > 0 })

	e.samplers.mu.Lock()
	e.fds.reserved = e.fds.nofile // nothing left to the caches
	e.samplers.mu.Unlock()
	before := e.Instances("web")[0].Usage.SampledAt
	waitFor(t, 10*time.Second, "a new sample with no stat held", func() bool {
		return sampledAll() && e.Instances("web")[0].Usage.SampledAt.After(before) && heldStats(pids) == 0
	})
}

// heldStats counts this process's descriptors on /proc/<pid>/stat of the
// process trees under pids (the instances and their children).
func heldStats(pids []int) int {
	ents, _ := os.ReadDir("/proc/self/fd")
	n := 0
	for _, d := range ents {
		link, err := os.Readlink("/proc/self/fd/" + d.Name())
		if err != nil || !strings.HasSuffix(link, "/stat") {
			continue
		}
		pid, err := strconv.Atoi(strings.TrimSuffix(strings.TrimPrefix(link, "/proc/"), "/stat"))
		if err != nil {
			continue
		}
		if st, ok := readProcStat(pid); ok && (slices.Contains(pids, pid) || slices.Contains(pids, st.pgid)) {
			n++
		}
	}
	return n
}
