package main

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// clockTicks is USER_HZ, the unit of utime and stime in /proc/<pid>/stat:
// 100 on every Linux architecture Go supports.
const clockTicks = 100

// procStat is the part of /proc/<pid>/stat the harness reads.
type procStat struct {
	ppid  int
	state byte
	ticks uint64 // utime + stime, in clockTicks
}

// readStat reads /proc/<pid>/stat. The command name (field 2) may hold
// spaces and parentheses, so fields are counted from the last ')'.
func readStat(pid int) (procStat, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return procStat{}, err
	}
	i := bytes.LastIndexByte(b, ')')
	if i < 0 || i+2 >= len(b) {
		return procStat{}, fmt.Errorf("/proc/%d/stat: unexpected format", pid)
	}
	f := strings.Fields(string(b[i+2:]))
	// f[0] state, f[1] ppid, ... f[11] utime, f[12] stime.
	if len(f) < 13 {
		return procStat{}, fmt.Errorf("/proc/%d/stat: %d fields", pid, len(f))
	}
	ppid, _ := strconv.Atoi(f[1])
	ut, _ := strconv.ParseUint(f[11], 10, 64)
	st, _ := strconv.ParseUint(f[12], 10, 64)
	return procStat{ppid: ppid, state: f[0][0], ticks: ut + st}, nil
}

// alive reports whether pid exists and has not exited (a zombie has).
func alive(pid int) bool {
	s, err := readStat(pid)
	return err == nil && s.state != 'Z' && s.state != 'X'
}

// rssKiB is VmRSS of pid, 0 when it is gone.
func rssKiB(pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return n
		}
	}
	return 0
}

// pssKiB is the proportional set size of pid (shared pages divided among
// the processes sharing them), from /proc/<pid>/smaps_rollup.
func pssKiB(pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/smaps_rollup", pid))
	if err != nil {
		return 0
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "Pss:"); ok {
			n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return n
		}
	}
	return 0
}

// openFDs is how many descriptors pid holds open, 0 when it is gone.
func openFDs(pid int) int {
	fds, _ := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	return len(fds)
}

// allPIDs lists the numeric entries of /proc.
func allPIDs() []int {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	pids := make([]int, 0, len(entries))
	for _, e := range entries {
		if pid, err := strconv.Atoi(e.Name()); err == nil {
			pids = append(pids, pid)
		}
	}
	return pids
}

// cmdline is the argv of pid joined by NULs ("" when gone).
func cmdline(pid int) string {
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	return string(b)
}

// marked lists the live processes whose argv holds token: the workloads
// of a phase carry "<run>/<phase>/<app>" as their last argument.
func marked(token string) []int {
	var out []int
	for _, pid := range allPIDs() {
		if strings.Contains(cmdline(pid), token) && alive(pid) {
			out = append(out, pid)
		}
	}
	return out
}

// environHas reports whether the environment of pid holds kv, a whole
// "NAME=value" entry, or an entry starting with kv when prefix is set.
func environHas(pid int, kv string, prefix bool) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/environ", pid))
	if err != nil {
		return false
	}
	for e := range bytes.SplitSeq(b, []byte{0}) {
		if string(e) == kv || (prefix && bytes.HasPrefix(e, []byte(kv))) {
			return true
		}
	}
	return false
}

// supervisorTree lists roots and their descendants, leaving out every
// process whose argv holds token (the workloads) and everything below it:
// what is left is the supervisor itself (PM2's God daemon, supervisord,
// s6-svscan and its s6-supervise, runsvdir and its runsv, proclet).
func supervisorTree(roots []int, token string) []int {
	children := map[int][]int{}
	for _, pid := range allPIDs() {
		if s, err := readStat(pid); err == nil {
			children[s.ppid] = append(children[s.ppid], pid)
		}
	}
	var out []int
	queue := append([]int(nil), roots...)
	seen := map[int]bool{}
	for len(queue) > 0 {
		pid := queue[0]
		queue = queue[1:]
		if seen[pid] || !alive(pid) || strings.Contains(cmdline(pid), token) {
			continue
		}
		seen[pid] = true
		out = append(out, pid)
		queue = append(queue, children[pid]...)
	}
	return out
}

// cpuTicks reads utime+stime of each pid.
func cpuTicks(pids []int) map[int]uint64 {
	m := make(map[int]uint64, len(pids))
	for _, pid := range pids {
		if s, err := readStat(pid); err == nil {
			m[pid] = s.ticks
		}
	}
	return m
}

// usage is the CPU a set of processes used between two cpuTicks readings,
// as a percentage of one core over secs: a process that appeared in
// between counts from 0, one that went away is lost (its last ticks are
// not readable any more).
func usage(before, after map[int]uint64, secs float64) float64 {
	var d uint64
	for pid, t := range after {
		if t >= before[pid] {
			d += t - before[pid]
		}
	}
	return float64(d) / clockTicks / secs * 100
}
