package procfs

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"

	"proclet.dev/proclet/runtime"
)

// writeStat writes (or rewrites in place) one process of a fixture /proc.
func writeStat(t *testing.T, root string, p procSample) {
	t.Helper()
	writeFixture(t, root, []procSample{p}, nil, fixtureTCP)
}

func removeProc(t *testing.T, root string, pid int) {
	t.Helper()
	if err := os.RemoveAll(filepath.Join(root, itoa(pid))); err != nil {
		t.Fatal(err)
	}
}

func fixturePass(t *testing.T, s *Sampler, targets ...Target) map[string]runtime.Usage {
	t.Helper()
	u, err := s.Pass(fixtureNow, targets)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// A pass holds the stat of the tree's processes open and reads them
// again (a change in place shows), reads a process under a reused pid
// (a new /proc entry) afresh, reads afresh a cached process that now
// resolves into a tree, and lets go of processes that left.
func TestSampler_ReadsWhatMattersOnly(t *testing.T) {
	root := t.TempDir()
	procs := []procSample{
		{pid: 1, ppid: 0, pgrp: 1, start: 1, rssPages: 1},
		{pid: 100, ppid: 1, pgrp: 100, start: 3, self: 10, rssPages: 10}, // a
		{pid: 101, ppid: 100, pgrp: 100, start: 4, self: 5, rssPages: 5}, // a's child
		{pid: 200, ppid: 1, pgrp: 200, start: 5, self: 1, rssPages: 20},  // b, not sampled at first
		{pid: 300, ppid: 1, pgrp: 300, start: 6, self: 1, rssPages: 30},  // unrelated
	}
	writeFixture(t, root, procs, nil, fixtureTCP)
	s := NewSampler(root)
	t.Cleanup(s.Close)
	s.pageSize = 1
	a, b := Target{UID: "a", PID: 100}, Target{UID: "b", PID: 200}

	if u := fixturePass(t, s, a); u["a"].MemoryBytes != 15 || s.held != 2 {
		t.Fatalf("pass 1: a %+v, %d stats held, want 15 bytes and 2", u["a"], s.held)
	}
	// In place, as the kernel regenerates it: the held descriptor sees it.
	writeStat(t, root, procSample{pid: 101, ppid: 100, pgrp: 100, start: 4, self: 5, rssPages: 50})
	// A new process under pid 300 (a new /proc entry, made before the old
	// one goes so that it has another inode), in a's group.
	other := t.TempDir()
	writeStat(t, other, procSample{pid: 300, ppid: 1, pgrp: 100, start: 9, self: 1, rssPages: 300})
	removeProc(t, root, 300)
	if err := os.Rename(filepath.Join(other, "300"), filepath.Join(root, "300")); err != nil {
		t.Fatal(err)
	}
	if u := fixturePass(t, s, a); u["a"].MemoryBytes != 10+50+300 || s.held != 3 {
		t.Fatalf("pass 2: a %+v, %d held, want 360 bytes and 3", u["a"], s.held)
	}
	// b was read once, outside every tree, and cached: once a target, it
	// is read afresh.
	writeStat(t, root, procSample{pid: 200, ppid: 1, pgrp: 200, start: 5, self: 1, rssPages: 22})
	if u := fixturePass(t, s, a, b); u["b"].MemoryBytes != 22 {
		t.Fatalf("pass 3: b %+v, want the 22 bytes written since its last read", u["b"])
	}
	removeProc(t, root, 101)
	if u := fixturePass(t, s, a, b); u["a"].MemoryBytes != 310 || s.held != 3 {
		t.Fatalf("pass 4: a %+v, %d held, want 310 bytes and 3 (100, 300, 200)", u["a"], s.held)
	}
	s.Close()
	if s.held != 0 || len(s.known) != 0 {
		t.Fatalf("close left %d held, %d known", s.held, len(s.known))
	}
}

// /proc is listed again only when the kernel allocated a pid since the
// last listing, or on a full pass, which also reads every process again.
func TestSampler_ListsOnlyAfterAFork(t *testing.T) {
	root := t.TempDir()
	writeFixture(t, root, []procSample{
		{pid: 1, ppid: 0, pgrp: 1, start: 1},
		{pid: 100, ppid: 1, pgrp: 100, start: 3, rssPages: 10},
		{pid: 200, ppid: 1, pgrp: 200, start: 5, rssPages: 20},
	}, nil, fixtureTCP)
	loadavg := func(last string) {
		if err := os.WriteFile(filepath.Join(root, "loadavg"), []byte("0.00 0.01 0.05 1/120 "+last+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	loadavg("500")
	s := NewSampler(root)
	t.Cleanup(s.Close)
	s.pageSize = 1
	a := Target{UID: "a", PID: 100}
	fixturePass(t, s, a)
	// A child appears, but no pid was allocated (as /proc/loadavg tells
	// it): not listed, not seen.
	writeStat(t, root, procSample{pid: 101, ppid: 100, pgrp: 100, start: 4, rssPages: 1})
	if u := fixturePass(t, s, a); u["a"].MemoryBytes != 10 || s.listed != 1 {
		t.Fatalf("without a new pid: a %+v after %d listings, want 10 bytes and 1", u["a"], s.listed)
	}
	loadavg("501")
	if u := fixturePass(t, s, a); u["a"].MemoryBytes != 11 || s.listed != 2 {
		t.Fatalf("after a new pid: a %+v after %d listings, want 11 bytes and 2", u["a"], s.listed)
	}
	// 200 joins a's group from outside (setpgid), unseen in its cached
	// stat until the full pass reads it again.
	writeStat(t, root, procSample{pid: 200, ppid: 1, pgrp: 100, start: 5, rssPages: 20})
	for s.passes%fullPassEvery != 0 {
		if u := fixturePass(t, s, a); u["a"].MemoryBytes != 11 {
			t.Fatalf("pass %d (not full): a %+v", s.passes-1, u["a"])
		}
	}
	// Processes outside every tree are forgotten a few passes after their
	// listing: only a's are left.
	if len(s.known) != 2 || s.known[100] == nil || s.known[101] == nil || len(s.pids) != 2 {
		t.Fatalf("before the full pass the sampler knows %d processes (%v), want a's 2", len(s.known), s.pids)
	}
	if u := fixturePass(t, s, a); u["a"].MemoryBytes != 31 || s.listed != 3 {
		t.Fatalf("the full pass: a %+v after %d listings, want 31 bytes and 3", u["a"], s.listed)
	}
}

// A tree's fds are read again when the host gains a listening socket only
// if the tree's CPU time moved since its last scan or its processes
// changed lately (or on a full pass); a socket that goes away needs no
// scan.
func TestSampler_ListeningScans(t *testing.T) {
	root := t.TempDir()
	const header = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n"
	const row5001 = "   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 5001 1 0 100 0 0 10 0\n"
	const row5002 = "   1: 0100007F:1F91 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 5002 1 0 100 0 0 10 0\n"
	tcp := func(rows string) {
		if err := os.WriteFile(filepath.Join(root, "net", "tcp"), []byte(header+rows), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	a := procSample{pid: 100, ppid: 1, pgrp: 100, start: 3, self: 10, rssPages: 1}
	b := procSample{pid: 200, ppid: 1, pgrp: 200, start: 4, self: 10, rssPages: 1}
	writeFixture(t, root, []procSample{a, b}, nil, header+row5002)
	s := NewSampler(root)
	t.Cleanup(s.Close)
	ta, tb := Target{UID: "a", PID: 100}, Target{UID: "b", PID: 200}
	fixturePass(t, s, ta, tb) // the first pass is a full one: no sockets
	// Young trees are scanned on any gain: let them age.
	for range youngPasses {
		fixturePass(t, s, ta, tb)
	}

	// a opens a listening socket without using a tick of CPU: not seen.
	if err := os.Symlink("socket:[5001]", filepath.Join(root, "100", "fd", "3")); err != nil {
		t.Fatal(err)
	}
	tcp(row5001 + row5002)
	if u := fixturePass(t, s, ta, tb); u["a"].Listening != nil {
		t.Fatalf("an idle tree was scanned: %v", u["a"].Listening)
	}
	a.self++
	writeStat(t, root, a)
	if u := fixturePass(t, s, ta, tb); !slices.Equal(u["a"].Listening, []int32{0x1F90}) {
		t.Fatalf("a tree whose CPU moved: listening %v, want [8080]", u["a"].Listening)
	}
	// b got a socket passed (no CPU, no new process): found by the full pass.
	if err := os.Symlink("socket:[5002]", filepath.Join(root, "200", "fd", "3")); err != nil {
		t.Fatal(err)
	}
	for s.passes%fullPassEvery != 0 {
		if u := fixturePass(t, s, ta, tb); u["b"].Listening != nil {
			t.Fatalf("pass %d is not a full one but scanned b", s.passes-1)
		}
	}
	if u := fixturePass(t, s, ta, tb); !slices.Equal(u["b"].Listening, []int32{0x1F91}) {
		t.Fatalf("the full pass: b listening %v, want [8081]", u["b"].Listening)
	}
	// a's socket closes: gone at once.
	tcp(row5002)
	if u := fixturePass(t, s, ta, tb); u["a"].Listening != nil || !slices.Equal(u["b"].Listening, []int32{0x1F91}) {
		t.Fatalf("after a closed its socket: a %v, b %v", u["a"].Listening, u["b"].Listening)
	}
	// c starts, then listens a pass later without a tick of CPU: young,
	// it is scanned on the gain.
	c := procSample{pid: 300, ppid: 1, pgrp: 300, start: 5, self: 1, rssPages: 1}
	writeStat(t, root, c)
	tc := Target{UID: "c", PID: 300}
	fixturePass(t, s, ta, tb, tc)
	if err := os.Symlink("socket:[5003]", filepath.Join(root, "300", "fd", "3")); err != nil {
		t.Fatal(err)
	}
	tcp(row5002 + strings.ReplaceAll(strings.ReplaceAll(row5001, "5001", "5003"), ":1F90", ":1F92"))
	if u := fixturePass(t, s, ta, tb, tc); !slices.Equal(u["c"].Listening, []int32{0x1F92}) {
		t.Fatalf("a young tree: c listening %v, want [8082]", u["c"].Listening)
	}
}

// sock_diag and /proc/net/tcp{,6} report the same listening sockets, by
// inode and port; a connected socket is not one of them.
func TestHostSockets_InodesMatchProcNet(t *testing.T) {
	type sock struct {
		inode uint64
		port  int32
	}
	var want []sock
	for _, l := range []struct{ network, addr string }{{"tcp4", "127.0.0.1:0"}, {"tcp6", "[::1]:0"}} {
		ln, err := net.Listen(l.network, l.addr)
		if err != nil {
			if l.network == "tcp6" {
				continue // no IPv6 here
			}
			t.Fatal(err)
		}
		defer ln.Close()
		want = append(want, sock{inodeOf(t, ln.(*net.TCPListener)), int32(ln.Addr().(*net.TCPAddr).Port)})
	}
	c, err := net.Dial("tcp4", net.JoinHostPort("127.0.0.1", itoa(int(want[0].port))))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	connected := inodeOf(t, c.(*net.TCPConn))
	for name, read := range map[string]func(ListenFunc) error{
		"sock_diag": func(fn ListenFunc) error { return DiagListenSockets(nil, fn) },
		"proc":      func(fn ListenFunc) error { return ProcListenSockets("/proc/net", fn) },
		"host":      func(fn ListenFunc) error { return hostSockets(nil, "/proc/net", fn) },
	} {
		got := map[uint64]int32{}
		if err := read(func(port int32, inode uint64) { got[inode] = port }); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		for _, w := range want {
			if got[w.inode] != w.port {
				t.Errorf("%s: socket %d: port %d, want %d", name, w.inode, got[w.inode], w.port)
			}
		}
		if _, ok := got[connected]; ok {
			t.Errorf("%s: the connected socket %d counts as listening", name, connected)
		}
	}
}

// inodeOf is the inode of a socket, as /proc/<pid>/fd shows it.
func inodeOf(t *testing.T, c syscall.Conn) uint64 {
	t.Helper()
	rc, err := c.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var st syscall.Stat_t
	var serr error
	if err := rc.Control(func(fd uintptr) { serr = syscall.Fstat(int(fd), &st) }); err != nil || serr != nil {
		t.Fatal(err, serr)
	}
	return st.Ino
}

// readFileAt and pread read a file larger than the buffer whole.
func TestSampler_ReadsLargeFiles(t *testing.T) {
	root := t.TempDir()
	want := strings.Repeat("0123456789", 1000) // 10000 bytes: more than the 4 KiB buffer
	if err := os.WriteFile(filepath.Join(root, "big"), []byte(want), 0o644); err != nil {
		t.Fatal(err)
	}
	s := NewSampler(root)
	dirfd, err := syscall.Open(root, syscall.O_RDONLY|syscall.O_DIRECTORY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer syscall.Close(dirfd)
	b, err := s.readFileAt(dirfd, []byte("big\x00"))
	if err != nil || string(b) != want {
		t.Fatalf("readFileAt: %d bytes, %v", len(b), err)
	}
	fd, err := openat(dirfd, []byte("big\x00"), syscall.O_RDONLY)
	if err != nil {
		t.Fatal(err)
	}
	defer syscall.Close(fd)
	for range 2 {
		if b, err := s.pread(fd); err != nil || string(b) != want {
			t.Fatalf("pread: %d bytes, %v", len(b), err)
		}
	}
	if _, err := openat(dirfd, []byte("big"), syscall.O_RDONLY); err == nil {
		t.Fatalf("openat took a path without its NUL")
	}
}

func TestParseDecimal(t *testing.T) {
	for in, want := range map[string]uint64{"0": 0, "42": 42, "18446744073709551615": 1<<64 - 1} {
		if got, ok := parseDecimal([]byte(in)); !ok || got != want {
			t.Errorf("parseDecimal(%q) = %d, %v", in, got, ok)
		}
	}
	for _, bad := range []string{"", "-1", "1a", "18446744073709551616", "123456789012345678901"} {
		if _, ok := parseDecimal([]byte(bad)); ok {
			t.Errorf("parseDecimal(%q) ok", bad)
		}
	}
}

// ParseListenSockets gives the inode of each LISTEN row, 0 for a row cut
// before it.
func TestParseListenSockets_Inodes(t *testing.T) {
	const tcp = `  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1001 1 0000000000000000 100 0 0 10 0
   1: 0100007F:1F91 0100007F:D431 01 00000000:00000000 00:00000000 00000000     0        0 1003 1 0000000000000000 20 4 30 10 -1
   2: 00000000:0016 00000000:0000 0A 00000000:00000000
`
	got := map[int32]uint64{}
	ParseListenSockets([]byte(tcp), func(port int32, inode uint64) { got[port] = inode })
	if len(got) != 2 || got[0x1F90] != 1001 || got[22] != 0 {
		t.Fatalf("got %v, want 8080 -> 1001 and 22 -> 0", got)
	}
}

// On the real /proc, a pass after the first lists only the pids allocated
// since (procfs seeks by pid), and finds a process started meanwhile.
func TestSampler_ListsNewPidsOnly(t *testing.T) {
	s := NewHostSampler()
	t.Cleanup(s.Close)
	fixturePass(t, s)
	if s.tgidOffset <= 0 || s.listed != 1 {
		t.Fatalf("after the first pass: tgidOffset %d, %d listings; want the offset learned and 1", s.tgidOffset, s.listed)
	}
	cmd := exec.Command("/bin/sleep", "100")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL); cmd.Wait() })
	u := fixturePass(t, s, Target{UID: "sleep", PID: cmd.Process.Pid})
	if _, ok := u["sleep"]; !ok || s.listed != 1 {
		t.Fatalf("a process started since the last pass: sampled %v after %d full listings, want true and 1", ok, s.listed)
	}
	if e := s.known[cmd.Process.Pid]; e == nil || e.fd < 0 {
		t.Fatalf("the new tree's stat is not held open: %+v", e)
	}
}

// SetMaxHeld closes what is held beyond the new bound at once; the
// processes beyond it are still read (open, read, close) and a raised
// bound holds them again.
func TestSampler_SetMaxHeldLowersAndRaises(t *testing.T) {
	root := t.TempDir()
	procs := []procSample{
		{pid: 1, ppid: 0, pgrp: 1, start: 1, rssPages: 1},
		{pid: 100, ppid: 1, pgrp: 100, start: 3, self: 10, rssPages: 10},
		{pid: 101, ppid: 100, pgrp: 100, start: 4, self: 5, rssPages: 5},
		{pid: 102, ppid: 100, pgrp: 100, start: 4, self: 5, rssPages: 7},
	}
	writeFixture(t, root, procs, nil, fixtureTCP)
	s := NewSampler(root)
	t.Cleanup(s.Close)
	s.pageSize = 1
	a := Target{UID: "a", PID: 100}
	if u := fixturePass(t, s, a); u["a"].MemoryBytes != 22 || s.held != 3 {
		t.Fatalf("pass 1: a %+v, %d held, want 22 bytes and 3", u["a"], s.held)
	}
	s.SetMaxHeld(1)
	if s.held != 1 || heldFDs(s) != 1 {
		t.Fatalf("after SetMaxHeld(1): %d held (%d entries with a descriptor), want 1", s.held, heldFDs(s))
	}
	writeStat(t, root, procSample{pid: 102, ppid: 100, pgrp: 100, start: 4, self: 5, rssPages: 70})
	s.passes = fullPassEvery // a full pass reads the processes not held too
	if u := fixturePass(t, s, a); u["a"].MemoryBytes != 85 || s.held != 1 {
		t.Fatalf("pass 2: a %+v, %d held, want 85 bytes and 1", u["a"], s.held)
	}
	s.SetMaxHeld(0)
	if s.held != 0 || heldFDs(s) != 0 {
		t.Fatalf("after SetMaxHeld(0): %d held, want 0", s.held)
	}
	s.SetMaxHeld(10)
	if fixturePass(t, s, a); s.held != 3 {
		t.Fatalf("after SetMaxHeld(10): %d held, want 3 again", s.held)
	}
}

func heldFDs(s *Sampler) int {
	n := 0
	for _, e := range s.known {
		if e.fd >= 0 {
			n++
		}
	}
	return n
}
