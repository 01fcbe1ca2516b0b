package procfs

import (
	"fmt"
	"os"
	"time"

	"golang.org/x/sys/unix"

	"proclet.dev/proclet/runtime"
)

// Target is one instance to sample: its main process leads its
// process group.
type Target struct {
	UID       string
	PID       int
	StartedAt time.Time
}

// Sampler measures the process trees of instances in one batched pass
// over /proc. Only the goroutine that runs the passes touches it; close
// releases what it holds open.
//
// An instance's tree is every process of its process group (pgid == the
// main process's pid: the whole group, whoever forked what), plus every
// descendant that left the group (setsid, setpgid) while its parent chain
// still leads back into the tree. An escapee whose parent died was
// reparented to init (or a subreaper) and is no longer found: only a
// cgroup could follow it. Finding the descendants costs little: the group
// of a process is only written in its /proc/<pid>/stat, which is read for
// every new process anyway.
//
// What a pass reads (sample_procs_linux.go, sample_list_linux.go) is
// chosen to make few system calls, which are most of its cost:
//
//   - the stat of every process in a tree, through a descriptor held open
//     while it is in one: one pread per process and pass (at most a
//     quarter of RLIMIT_NOFILE held; the rest with openat, read, close);
//   - the stat of every process new since the last listing (or whose
//     /proc/<pid> entry has another inode: a pid reused), with openat
//     relative to the open /proc, one read, close. A process outside
//     every tree is not read again until a full pass (every
//     fullPassEvery-th, 5 min at 5 s): its group and parent are taken
//     from its last read for keepOutside passes (an instance's main
//     process listed just before it became a target is then read
//     afresh), and it is forgotten after that. So the one way into a tree
//     from outside, setpgid into an instance's group by a process of
//     another group (of the daemon's session: instances do not start
//     sessions of their own), is seen by the next full pass at the
//     latest; a process that descends from a tree is in it already;
//   - of the /proc listing, only the entries of the pids allocated since
//     the last pass: /proc/loadavg has the last pid allocated, and procfs
//     lists pids in order from any pid (a seek): nothing when no process
//     was created, all of it on a full pass or after the pids wrapped.
//
// Nothing is allocated per process.
//
// The listening ports (sample_ports_linux.go) come from one sock_diag
// dump of the host's TCP LISTEN sockets (inode -> port) and a tree's open
// file descriptors, which are read only when needed (see listeningFor).
//
// It reads /proc/<pid>/stat itself rather than through gopsutil: gopsutil
// has no accessor for the process group (getpgid(2) per process), reads
// stat again for each accessor (Ppid, Times) and statm for the RSS, and
// its Connections reads the socket tables once per process.
// BenchmarkSample1000 measures both (figures in docs/metrics.md).
type Sampler struct {
	root     string // "/proc"; a fixture tree in tests
	pageSize int64
	acct     map[acctKey]*instanceAccount
	// sockets reports every TCP LISTEN socket of the daemon's network
	// namespace (hostSockets; a fixture's net/tcp in tests).
	sockets func(ListenFunc) error

	// The host's processes as last listed, by pid, and in listing order.
	known       map[int]*procEntry
	pids        []int
	held        int // stat descriptors held open, at most maxHeld
	maxHeld     int
	listed      uint64 // full listings of /proc so far
	lastPIDSeen uint64 // the last pid allocated, as of the last pass (0: unknown)
	tgidOffset  int64  // the directory offset of pid p is p+tgidOffset; 0: unknown

	// Scratch space reused by every pass.
	buf     []byte // a stat file
	dirents []byte // getdents(2) output
	path    []byte // a NUL-terminated path relative to root
	link    []byte // an fd's link target
	procs   []procSample
	entries []*procEntry // of procs, index for index
	owners  []int        // of procs: the target pid each belongs to, 0 for none
	leader  map[int]bool // own's: target pids
	byPID   map[int]int  // own's: pid -> index in procs
	owner   map[int]int  // own's: pid -> target pid, 0 for none
	order   []int        // group's: indexes of procs in a tree, by tree
	grouped []procSample // group's: the trees, one after the other
	trees   map[int][]procSample
	next    map[uint64]int32

	listen  map[uint64]int32 // the host's listening sockets at the last pass: inode -> port
	gainGen uint64           // bumped when listen gains a socket
	passes  int
}

// fullPassEvery is how often a pass reads everything regardless: every
// process's stat (a process outside every tree that joined one from
// outside is seen then) and every tree's fd links (a socket passed to a
// tree by another process, or opened by an old tree without its CPU time
// moving a tick, is seen then). 60 passes, 5 min at 5 s: a full pass
// costs about ten ordinary ones.
const fullPassEvery = 60

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

	// The listening sockets found by the last scan of the tree's fds, and
	// what the scan depended on.
	sockets   []uint64 // inodes
	scanned   bool
	scanGen   uint64 // sampler.gainGen then
	scanTicks uint64 // the counter then
	treeSum   uint64 // the set of processes then
	changedAt int    // the pass (sampler.passes) that saw the set change
}

// NewSampler returns a sampler of the /proc tree at root whose listening
// sockets are read from root/net/tcp{,6}: for fixture trees.
func NewSampler(root string) *Sampler {
	s := &Sampler{root: root, pageSize: int64(os.Getpagesize()), acct: map[acctKey]*instanceAccount{},
		known: map[int]*procEntry{}, maxHeld: maxHeldFDs(),
		buf: make([]byte, 4096), dirents: make([]byte, 32<<10), path: make([]byte, 0, 64),
		link: make([]byte, 128), next: map[uint64]int32{}, listen: map[uint64]int32{}}
	s.sockets = func(fn ListenFunc) error { return ProcListenSockets(root+"/net", fn) }
	return s
}

// NewHostSampler returns the daemon's sampler: /proc, and the listening
// sockets from sock_diag, or /proc/net/tcp{,6} where sock_diag fails.
func NewHostSampler() *Sampler {
	s := NewSampler("/proc")
	diagBuf := make([]byte, diagBufSize)
	s.sockets = func(fn ListenFunc) error { return hostSockets(diagBuf, "/proc/net", fn) }
	return s
}

// maxHeldFDs bounds the stat descriptors a sampler holds open: a quarter
// of the descriptor limit, at most 16384 (a process tree that forks
// thousands must not starve the daemon of descriptors; the processes
// beyond are read with open, read, close).
func maxHeldFDs() int {
	var l unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &l); err != nil {
		return 0
	}
	return int(min(l.Cur/4, maxHeldCap))
}

// maxHeldCap is the most stat descriptors a sampler holds open.
const maxHeldCap = 16384

// Close releases the descriptors the sampler holds; a pass after it
// starts over with a full listing.
func (s *Sampler) Close() {
	for pid, e := range s.known {
		s.release(e)
		delete(s.known, pid)
	}
	s.pids, s.listed, s.lastPIDSeen = nil, 0, 0
}

// Pass samples every target at once and returns their usage by uid. A
// target whose process is gone is left out. The accounting of targets not
// passed any more is dropped.
func (s *Sampler) Pass(now time.Time, targets []Target) (map[string]runtime.Usage, error) {
	dirfd, err := unix.Open(s.root, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("sample: open %s: %w", s.root, err)
	}
	defer unix.Close(dirfd)
	full := s.passes%fullPassEvery == 0
	s.passes++
	trees, err := s.readTrees(dirfd, targets, full)
	if err != nil {
		return nil, err
	}
	if len(trees) > 0 {
		s.readListening()
	}
	out := make(map[string]runtime.Usage, len(targets))
	keep := make(map[acctKey]bool, len(targets))
	for _, t := range targets {
		k := acctKey{t.UID, t.PID}
		keep[k] = true
		tree := trees[t.PID]
		if len(tree) == 0 {
			continue
		}
		a := s.acct[k]
		if a == nil {
			a = &instanceAccount{lastAt: t.StartedAt}
			s.acct[k] = a
		}
		ticks := a.cpu.update(tree)
		u := runtime.Usage{SampledAt: now, CPUSeconds: float64(ticks) / ClockTicks}
		if dt := now.Sub(a.lastAt).Seconds(); dt > 0 && !a.lastAt.IsZero() {
			u.CPUPercent = float64(ticks-a.ticks) / ClockTicks / dt * 100
		}
		a.ticks, a.lastAt = ticks, now
		for _, p := range tree {
			u.MemoryBytes += uint64(max(p.rssPages, 0) * s.pageSize)
		}
		u.Listening = s.listeningFor(dirfd, a, tree, full)
		out[t.UID] = u
	}
	for k := range s.acct {
		if !keep[k] {
			delete(s.acct, k)
		}
	}
	return out, nil
}

// Tree lists the pids of the process tree of pid as a pass finds it (its
// group, and the descendants that left it), for a one-off look: it reads
// every process.
func (s *Sampler) Tree(pid int) ([]int, error) {
	dirfd, err := unix.Open(s.root, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("sample: open %s: %w", s.root, err)
	}
	defer unix.Close(dirfd)
	trees, err := s.readTrees(dirfd, []Target{{PID: pid}}, true)
	if err != nil {
		return nil, err
	}
	var out []int
	for _, p := range trees[pid] {
		out = append(out, p.pid)
	}
	return out, nil
}

// SetMaxHeld bounds the stat descriptors the sampler holds open from now
// on (at most 16384): the daemon lowers it as instances take the
// descriptors it may use, and raises it as they go. Descriptors held
// beyond it are closed now; the processes beyond are read with open,
// read, close. Call it between passes, from the goroutine that passes.
func (s *Sampler) SetMaxHeld(n int) {
	s.maxHeld = max(0, min(n, maxHeldCap))
	for _, e := range s.known {
		if s.held <= s.maxHeld {
			return
		}
		s.release(e)
	}
}
