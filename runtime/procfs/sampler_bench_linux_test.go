package procfs

import (
	"context"
	"os/exec"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/shirou/gopsutil/v4/process"
	"golang.org/x/sys/unix"
)

// sleepers starts n sleeping processes, each leading its own process
// group as an instance does, and kills them when the benchmark ends.
func sleepers(b *testing.B, n int) []Target {
	b.Helper()
	targets := make([]Target, 0, n)
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
		targets = append(targets, Target{UID: strconv.Itoa(i), PID: c.Process.Pid, StartedAt: time.Now()})
	}
	return targets
}

// BenchmarkSample1000 is one sampling pass over 1000 real instances (1000
// sleeping processes, each its own group), as the Runtime does it, and the
// same measurements through gopsutil for comparison.
func BenchmarkSample1000(b *testing.B) {
	targets := sleepers(b, 1000)
	b.Run("proc", func(b *testing.B) {
		s := NewHostSampler()
		defer s.Close()
		for b.Loop() {
			u, err := s.Pass(time.Now(), targets)
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
func gopsutilPass(b *testing.B, targets []Target) int {
	ctx := context.Background()
	leader := map[int32]bool{}
	for _, t := range targets {
		leader[int32(t.PID)] = true
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
	var targets []Target
	for i := range 1000 {
		pid := 1000 + 2*i
		procs = append(procs, procSample{pid: pid, ppid: 1, pgrp: pid, start: 1, self: 10, rssPages: 100},
			procSample{pid: pid + 1, ppid: pid, pgrp: pid, start: 1, self: 10, rssPages: 100})
		targets = append(targets, Target{UID: strconv.Itoa(i), PID: pid})
	}
	writeFixture(b, root, procs, nil, fixtureTCP)
	s := NewSampler(root)
	defer s.Close()
	for b.Loop() {
		if u, err := s.Pass(time.Now(), targets); err != nil || len(u) != 1000 {
			b.Fatalf("sampled %d: %v", len(u), err)
		}
	}
}
