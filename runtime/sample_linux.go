package runtime

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"time"

	"golang.org/x/sys/unix"
)

// DefaultSampleInterval is how often the Exec samples its instances when
// ExecOptions.SampleInterval is zero.
const DefaultSampleInterval = 5 * time.Second

// sampleTarget is one instance to sample: its main process leads its
// process group.
type sampleTarget struct {
	uid       string
	pid       int
	startedAt time.Time
}

// sampler measures the process trees of instances in one batched pass
// over /proc. Only the goroutine that runs the passes touches it.
//
// An instance's tree is every process of its process group (pgid == the
// main process's pid: the whole group, whoever forked what), plus every
// descendant that left the group (setsid, setpgid) while its parent chain
// still leads back into the tree. An escapee whose parent died was
// reparented to init (or a subreaper) and is no longer found: only a
// cgroup could follow it. Finding the descendants costs nothing extra: the
// pass reads every /proc/<pid>/stat of the host anyway, since the group of
// a process is only written there.
//
// It reads /proc/<pid>/stat itself rather than through gopsutil: gopsutil
// has no accessor for the process group (getpgid(2) per process), reads
// stat again for each accessor (Ppid, Times) and statm for the RSS, and
// its Connections reads the socket tables once per process.
// BenchmarkSample1000 measures both (figures in docs/metrics.md).
type sampler struct {
	root     string // "/proc"; a fixture tree in tests
	pageSize int64
	acct     map[acctKey]*instanceAccount
	buf      []byte
	link     []byte

	// Reading every fd link of every process is half the cost of a pass,
	// and ports rarely change: a tree's ports are read again only when its
	// set of processes or the host's set of listening sockets changed, or
	// on every fullScanEvery-th pass (a socket passed between processes
	// changes neither).
	listen    map[uint64]int32 // the listening sockets at the last pass
	listenGen uint64           // bumped when listen changes
	passes    int
}

// fullScanEvery is how often every tree's fds are read regardless.
const fullScanEvery = 12

// acctKey names one process of an instance: a restart under the same uid
// starts a new count (the counter resets, as a restarted container's does).
type acctKey struct {
	uid string
	pid int
}

// instanceAccount is the sampler's memory of one instance's process.
type instanceAccount struct {
	cpu    cpuAccount
	ticks  uint64    // the counter at the last pass
	lastAt time.Time // when the last pass read it (the start before the first)

	// The ports found by the last fd scan, and what they depended on.
	listening []int32
	listenGen uint64
	treeSum   uint64
}

func newSampler(root string) *sampler {
	return &sampler{root: root, pageSize: int64(os.Getpagesize()), acct: map[acctKey]*instanceAccount{},
		buf: make([]byte, 4096), link: make([]byte, 128)}
}

// pass samples every target at once and returns their usage by uid. A
// target whose process is gone is left out. The accounting of targets not
// passed any more is dropped.
func (s *sampler) pass(now time.Time, targets []sampleTarget) (map[string]Usage, error) {
	procs, err := s.readProcs()
	if err != nil {
		return nil, err
	}
	trees := s.trees(procs, targets)
	if len(trees) > 0 {
		if sockets := s.listeningSockets(); !maps.Equal(sockets, s.listen) {
			s.listen = sockets
			s.listenGen++
		}
	}
	full := s.passes%fullScanEvery == 0
	s.passes++
	out := make(map[string]Usage, len(targets))
	keep := make(map[acctKey]bool, len(targets))
	for _, t := range targets {
		k := acctKey{t.uid, t.pid}
		keep[k] = true
		tree := trees[t.pid]
		if len(tree) == 0 {
			continue
		}
		a := s.acct[k]
		if a == nil {
			a = &instanceAccount{lastAt: t.startedAt}
			s.acct[k] = a
		}
		ticks := a.cpu.update(tree)
		u := Usage{SampledAt: now, CPUSeconds: float64(ticks) / clockTicks}
		if dt := now.Sub(a.lastAt).Seconds(); dt > 0 && !a.lastAt.IsZero() {
			u.CPUPercent = float64(ticks-a.ticks) / clockTicks / dt * 100
		}
		a.ticks, a.lastAt = ticks, now
		for _, p := range tree {
			u.MemoryBytes += uint64(max(p.rssPages, 0) * s.pageSize)
		}
		if sum := treeSum(tree); full || a.listenGen != s.listenGen || a.treeSum != sum || a.listenGen == 0 {
			a.listening, a.listenGen, a.treeSum = s.listening(tree, s.listen), s.listenGen, sum
		}
		u.Listening = slices.Clone(a.listening)
		out[t.uid] = u
	}
	for k := range s.acct {
		if !keep[k] {
			delete(s.acct, k)
		}
	}
	return out, nil
}

// treeSum identifies a set of processes whatever their order.
func treeSum(tree []procSample) uint64 {
	var sum uint64
	for _, p := range tree {
		h := uint64(p.pid)*0x9E3779B97F4A7C15 ^ p.start*0xC2B2AE3D27D4EB4F
		sum += h ^ h>>29
	}
	return sum + uint64(len(tree))
}

// readProcs reads the stat of every process of the host. A process that
// exits meanwhile is skipped.
func (s *sampler) readProcs() ([]procSample, error) {
	d, err := os.Open(s.root)
	if err != nil {
		return nil, fmt.Errorf("sample: %w", err)
	}
	names, err := d.Readdirnames(-1)
	d.Close()
	if err != nil {
		return nil, fmt.Errorf("sample: list %s: %w", s.root, err)
	}
	procs := make([]procSample, 0, len(names))
	for _, name := range names {
		if name == "" || name[0] < '0' || name[0] > '9' {
			continue
		}
		b, err := s.readFile(s.root + "/" + name + "/stat")
		if err != nil {
			continue
		}
		if p, err := parseStat(b); err == nil {
			procs = append(procs, p)
		}
	}
	return procs, nil
}

// readFile reads a small file into s.buf without allocating.
func (s *sampler) readFile(path string) ([]byte, error) {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	defer unix.Close(fd)
	n := 0
	for {
		m, err := unix.Read(fd, s.buf[n:])
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return nil, err
		}
		if m == 0 {
			return s.buf[:n], nil
		}
		n += m
		if n == len(s.buf) {
			s.buf = slices.Grow(s.buf, len(s.buf))[:2*len(s.buf)]
		}
	}
}

// trees groups procs by the target they belong to, keyed by the target's
// pid: first by process group, then each remaining process by its parent
// chain.
func (s *sampler) trees(procs []procSample, targets []sampleTarget) map[int][]procSample {
	leader := make(map[int]bool, len(targets))
	for _, t := range targets {
		leader[t.pid] = true
	}
	byPID := make(map[int]int, len(procs)) // pid -> index in procs
	owner := make(map[int]int, len(procs)) // pid -> target pid, 0 for none
	for i, p := range procs {
		byPID[p.pid] = i
		if leader[p.pgrp] {
			owner[p.pid] = p.pgrp
		}
	}
	var resolve func(pid, depth int) int
	resolve = func(pid, depth int) int {
		if o, ok := owner[pid]; ok {
			return o
		}
		o := 0
		if i, ok := byPID[pid]; ok && pid > 1 && depth < 64 {
			o = resolve(procs[i].ppid, depth+1)
		}
		owner[pid] = o
		return o
	}
	out := make(map[int][]procSample, len(targets))
	for _, p := range procs {
		if o := resolve(p.pid, 0); o != 0 {
			out[o] = append(out[o], p)
		}
	}
	return out
}

// listeningSockets maps the inode of every TCP socket in state LISTEN
// (0A) of the daemon's network namespace to its port, from /proc/net/tcp
// and tcp6. (An instance in a network namespace of its own is not seen.)
func (s *sampler) listeningSockets() map[uint64]int32 {
	m := map[uint64]int32{}
	for _, f := range []string{"net/tcp", "net/tcp6"} {
		file, err := os.Open(filepath.Join(s.root, f))
		if err != nil {
			continue
		}
		parseListening(file, m)
		file.Close()
	}
	return m
}

// parseListening adds the listening sockets of one /proc/net/tcp* table.
func parseListening(f *os.File, m map[uint64]int32) {
	sc := bufio.NewScanner(f)
	sc.Scan() // the header
	for sc.Scan() {
		fields := bytes.Fields(sc.Bytes())
		if len(fields) < 10 || string(fields[3]) != "0A" {
			continue
		}
		local := fields[1]
		i := bytes.LastIndexByte(local, ':')
		if i < 0 {
			continue
		}
		port, err1 := strconv.ParseUint(string(local[i+1:]), 16, 16)
		inode, err2 := strconv.ParseUint(string(fields[9]), 10, 64)
		if err1 == nil && err2 == nil && inode != 0 {
			m[inode] = int32(port)
		}
	}
}

// listening returns the sorted TCP ports the tree's processes hold a
// listening socket of, through their open file descriptors.
func (s *sampler) listening(tree []procSample, sockets map[uint64]int32) []int32 {
	if len(sockets) == 0 {
		return nil
	}
	var ports []int32
	for _, p := range tree {
		dir := s.root + "/" + strconv.Itoa(p.pid) + "/fd"
		d, err := os.Open(dir)
		if err != nil {
			continue
		}
		fds, _ := d.Readdirnames(-1)
		dfd := int(d.Fd())
		for _, fd := range fds {
			n, err := unix.Readlinkat(dfd, fd, s.link)
			if err != nil {
				continue
			}
			l := s.link[:n]
			// "socket:[12345]"
			if !bytes.HasPrefix(l, []byte("socket:[")) || l[len(l)-1] != ']' {
				continue
			}
			inode, err := strconv.ParseUint(string(l[8:len(l)-1]), 10, 64)
			if err != nil {
				continue
			}
			if port, ok := sockets[inode]; ok && !slices.Contains(ports, port) {
				ports = append(ports, port)
			}
		}
		d.Close()
	}
	slices.Sort(ports)
	return ports
}

// sampleLoop runs a pass at once and then every interval until ctx is
// done. Run owns it.
func (e *Exec) sampleLoop(ctx context.Context) {
	s := newSampler("/proc")
	t := time.NewTicker(e.sampleInterval)
	defer t.Stop()
	var lastErr string
	for {
		if err := e.sampleOnce(s, time.Now()); err != nil && err.Error() != lastErr {
			e.log.Warn("sampling the instances", "err", err)
			lastErr = err.Error()
		} else if err == nil {
			lastErr = ""
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// sampleOnce samples every live instance and writes their Usage, then
// calls OnSample. No lock is held during the /proc reads: the targets are
// collected first, and a handle reaped meanwhile keeps its last usage.
func (e *Exec) sampleOnce(s *sampler, now time.Time) error {
	e.mu.Lock()
	targets := make([]sampleTarget, 0, len(e.handles))
	for uid, h := range e.handles {
		if !h.reaped && !h.finished {
			targets = append(targets, sampleTarget{uid: uid, pid: h.pid, startedAt: h.state.StartedAt})
		}
	}
	e.mu.Unlock()
	usage, err := s.pass(now, targets)
	if err != nil {
		return err
	}
	e.mu.Lock()
	for uid, u := range usage {
		if h, ok := e.handles[uid]; ok && !h.reaped {
			u.OverMemoryLimit = overMemoryLimit(h.state.Usage.OverMemoryLimit, h.sampledLimitLocked(), u)
			h.state.Usage = u
		}
	}
	e.mu.Unlock()
	if e.onSample != nil {
		e.onSample()
	}
	return nil
}

func sampleInterval(d time.Duration) time.Duration {
	if d == 0 {
		return DefaultSampleInterval
	}
	return d
}

// AllInstances returns the state of every instance the Exec holds, of
// every app, in no particular order. It is not part of Interface: it is the
// bulk read of whoever consumes OnSample, for which one Instances call per
// app would cost apps × instances at each pass.
func (e *Exec) AllInstances() []State {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make([]State, 0, len(e.handles))
	for _, h := range e.handles {
		out = append(out, h.stateLocked())
	}
	return out
}
