package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"

	rtexec "proclet.dev/proclet/runtime/exec"
)

const (
	// hostNofile is what RLIMIT_NOFILE is raised to when the largest size
	// needs it: systemd's default hard limit, what the daemon gets under
	// its unit.
	hostNofile = 524288
	// hostPIDMax is what kernel.pid_max is raised to when the largest size
	// needs it: systemd's default on 64-bit hosts.
	hostPIDMax = 4194304
	pidMaxFile = "/proc/sys/kernel/pid_max"
)

// prepareHost fits the host's limits to the largest size, as root, notes
// each change in the results, and returns what puts pid_max back:
//
//   - RLIMIT_NOFILE, which every supervisor and workload inherits: the
//     daemon keeps ~5 descriptors per instance and, for its sampler, a
//     /proc stat one more (docs/operating.md); the harness a pidfd per
//     process it watches exit, and the floor's os/exec children one more
//     each. Raised to hostNofile when N × 8 + 4096 does not fit (at 5000
//     the daemon alone needs ~31 000).
//   - kernel.pid_max: every thread takes a PID, and the workload, a Go
//     program, runs ~6 threads: 5000 of them take 30 000 of Linux's
//     default 32 768. Raised to hostPIDMax when the tasks of the host now
//     plus N × (a workload's threads + 2: s6-supervise, runsv) do not fit.
func (b *bench) prepareHost(ctx context.Context) (restore func()) {
	restore = func() {}
	top := b.top()
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err == nil && lim.Max < uint64(top*8+4096) {
		raised := syscall.Rlimit{Cur: hostNofile, Max: hostNofile}
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &raised); err != nil {
			b.hostNote(fmt.Sprintf("RLIMIT_NOFILE %d is short of %d for N = %d and cannot be raised: %v", lim.Max, top*8+4096, top, err))
		} else {
			b.hostNote(fmt.Sprintf("RLIMIT_NOFILE %d → %d (for N = %d)", lim.Max, hostNofile, top))
		}
	}
	threads, err := b.workloadThreads(ctx)
	if err != nil {
		b.logf("host: threads of a workload: %v", err)
		threads = 8
	}
	b.res.set("floor", 1, "workload_threads", "threads", float64(threads), nil, "one idle workload")
	pidMax, tasks := readInt(pidMaxFile), runningTasks()
	need := tasks + top*(threads+2)
	if pidMax <= 0 || need < pidMax*9/10 {
		return restore
	}
	if err := os.WriteFile(pidMaxFile, []byte(strconv.Itoa(hostPIDMax)), 0o644); err != nil {
		b.hostNote(fmt.Sprintf("kernel.pid_max %d is short of %d tasks (%d now + %d × %d threads) and cannot be raised: %v",
			pidMax, need, tasks, top, threads+2, err))
		return restore
	}
	b.hostNote(fmt.Sprintf("kernel.pid_max %d → %d during the run (%d tasks now + %d × %d threads)", pidMax, hostPIDMax, tasks, top, threads+2))
	return func() {
		if err := os.WriteFile(pidMaxFile, []byte(strconv.Itoa(pidMax)), 0o644); err != nil {
			b.logf("host: kernel.pid_max not put back to %d: %v", pidMax, err)
		}
	}
}

// hostNote logs a change to (or a shortfall of) the host's limits and
// keeps it for the report.
func (b *bench) hostNote(s string) {
	b.logf("host: %s", s)
	b.res.mu.Lock()
	b.res.Machine.Changed = append(b.res.Machine.Changed, s)
	b.res.mu.Unlock()
}

// workloadThreads starts one workload and counts its threads once it has
// stamped its start and settled.
func (b *bench) workloadThreads(ctx context.Context) (int, error) {
	ph, err := b.newPhase("host-threads")
	if err != nil {
		return 0, err
	}
	defer ph.close()
	a := ph.app("t")
	c, err := b.r.start(ph.name, exec.Command(a.argv[0], a.argv[1:]...), "PROCLET_INSTANCE="+a.inst)
	if err != nil {
		return 0, err
	}
	defer c.stop(time.Second)
	if _, _, err := ph.marks.all(ctx, 10*time.Second, []string{a.inst}, time.Time{}); err != nil {
		return 0, err
	}
	if err := sleep(ctx, 300*time.Millisecond); err != nil {
		return 0, err
	}
	tasks, err := os.ReadDir(fmt.Sprintf("/proc/%d/task", c.cmd.Process.Pid))
	return len(tasks), err
}

// fits says whether n more workloads fit in the memory available now,
// at 1.5× the memory one took at the largest smaller size measured (2 MiB
// before any), with 1 GiB to spare.
func (b *bench) fits(n int) error {
	return b.fitsIn(float64(memAvailableKiB())/1024, n)
}

// fitsIn is fits with avail MiB available (0: unknown, fits).
func (b *bench) fitsIn(avail float64, n int) error {
	per := 2.0
	for _, m := range b.cfg.Sizes {
		if v, ok := b.res.value("floor", m, "workload_mem_mib"); ok && m < n {
			per = max(v, 0.5)
		}
	}
	if need := float64(n)*per*1.5 + 1024; avail > 0 && avail < need {
		return fmt.Errorf("%d workloads of ~%.1f MiB need ~%.0f MiB, %.0f MiB available", n, per, need, avail)
	}
	return nil
}

// measureMemory records what the floor's n workloads (pids) take: each
// one's RSS and PSS on average, and the host's available memory that
// went, per workload, since availBefore (KiB): their pages, kernel
// stacks, page tables and task structures, and whatever else the host
// did meanwhile.
func (b *bench) measureMemory(n int, availBefore int64, pids []int) {
	var rss, pss int64
	for _, pid := range pids {
		rss += rssKiB(pid)
		pss += pssKiB(pid)
	}
	if len(pids) == 0 {
		return
	}
	k := float64(len(pids)) * 1024
	note := fmt.Sprintf("mean of %d floor workloads", len(pids))
	b.res.set("floor", n, "workload_rss_mib", "MiB", float64(rss)/k, nil, note)
	b.res.set("floor", n, "workload_pss_mib", "MiB", float64(pss)/k, nil, note)
	drop := float64(availBefore - memAvailableKiB())
	b.res.set("floor", n, "workload_mem_mib", "MiB", drop/k, nil, "MemAvailable's drop while they started, per workload")
	b.logf("floor-%d: a workload takes RSS %.2f MiB, PSS %.2f MiB, MemAvailable %.2f MiB", n, float64(rss)/k, float64(pss)/k, drop/k)
}

// memAvailableKiB is MemAvailable of /proc/meminfo.
func memAvailableKiB() int64 {
	b, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return 0
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "MemAvailable:"); ok {
			n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return n
		}
	}
	return 0
}

// runningTasks is the host's tasks (threads) now, from /proc/loadavg.
func runningTasks() int {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) < 4 {
		return 0
	}
	_, total, _ := strings.Cut(f[3], "/")
	n, _ := strconv.Atoi(total)
	return n
}

func readInt(path string) int {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	n, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	return n
}

// The daemon's descriptors (docs/operating.md, cmd/proclet/fdbudget.go):
// the API's capped share, 128 of its own, and 3 per instance (the
// waiter's pidfd, two FIFOs: counted in /proc/<pid>/fd of a daemon running
// 100 idle instances). Its caches (held /proc stat descriptors, log files
// open while written) take only what is left, so they need no room here.
const (
	daemonFDsPerInstance = rtexec.FDsPerInstance
	daemonAPIFixedFDs    = 96*6 + 8 + rtexec.RuntimeFDs // streams and log reads × 6 files, listener, the runtime's own
)

// daemonFits says whether the daemon under test can hold n instances in
// the RLIMIT_NOFILE it inherits (Go raises its soft limit to the hard
// one): where the hard limit cannot be raised (no CAP_SYS_RESOURCE), n
// instances that do not fit would fail to start, and the converge would
// wait for its timeout.
func daemonFits(n int) error {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return nil
	}
	return daemonFitsIn(int(min(lim.Max, 1<<30)), n)
}

// daemonFitsIn is daemonFits under a limit of nofile descriptors.
func daemonFitsIn(nofile, n int) error {
	api := min(max(nofile/4, 16), 1024) + daemonAPIFixedFDs
	need := api + n*daemonFDsPerInstance
	if need <= nofile {
		return nil
	}
	return fmt.Errorf("RLIMIT_NOFILE %d (the hard limit) fits the daemon ~%d instances (%d descriptors each, "+
		"beside the API's share, docs/operating.md); %d need ~%d: raise it (LimitNOFILE=, CAP_SYS_RESOURCE)",
		nofile, (nofile-api)/daemonFDsPerInstance, daemonFDsPerInstance, n, need)
}
