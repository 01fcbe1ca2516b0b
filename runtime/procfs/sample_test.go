//go:build linux

package procfs

import (
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"
)

func TestParseStat(t *testing.T) {
	for _, tc := range []struct {
		name string
		line string
		want procSample
	}{
		{
			name: "plain",
			line: "4242 (sleep) S 4200 4200 4200 0 -1 4194304 98 0 0 0 7 3 20 5 20 0 1 0 341381 3133440 363 18446744073709551615 0\n",
			want: procSample{pid: 4242, ppid: 4200, pgrp: 4200, self: 10, children: 25, start: 341381, rssPages: 363},
		},
		{
			name: "name with spaces and parentheses",
			line: "7 (a (b) c) R 1 7 7 0 -1 0 0 0 0 0 1 2 3 4 20 0 1 0 99 0 12 0",
			want: procSample{pid: 7, ppid: 1, pgrp: 7, self: 3, children: 7, start: 99, rssPages: 12},
		},
		{
			name: "rss is the last field",
			line: "8 (x) Z 1 8 8 0 -1 0 0 0 0 0 1 1 0 0 20 0 1 0 5 0 0\n",
			want: procSample{pid: 8, ppid: 1, pgrp: 8, self: 2, start: 5},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseStat([]byte(tc.line))
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Fatalf("got %+v, want %+v", got, tc.want)
			}
		})
	}
	for _, bad := range []string{"", "12 sleep S 1", "12 (x) S 1 2", "x (y) S 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22"} {
		if _, err := parseStat([]byte(bad)); err == nil {
			t.Errorf("parseStat(%q): no error", bad)
		}
	}
}

// proc builds a procSample for the accounting tests.
func proc(pid, ppid int, self, children uint64) procSample {
	return procSample{pid: pid, ppid: ppid, pgrp: 10, start: uint64(pid) * 1000, self: self, children: children}
}

func TestCPUAccount(t *testing.T) {
	for _, tc := range []struct {
		name   string
		passes [][]procSample
		want   []uint64 // the counter after each pass
	}{
		{
			name:   "one process grows",
			passes: [][]procSample{{proc(10, 1, 5, 0)}, {proc(10, 1, 9, 0)}, {proc(10, 1, 9, 0)}},
			want:   []uint64{5, 9, 9},
		},
		{
			name: "a child that exits unreaped by the tree keeps its time",
			passes: [][]procSample{
				{proc(10, 1, 5, 0), proc(11, 10, 3, 0)},
				{proc(10, 1, 6, 0)}, // 11 gone, but 10 did not reap it (orphaned)
			},
			// 11's 3 ticks stay counted only if 10's cutime grows: here it
			// did not, so the debt holds one pass and is then forgiven.
			want: []uint64{8, 8},
		},
		{
			name: "a reaped child is not counted twice",
			passes: [][]procSample{
				{proc(10, 1, 5, 0), proc(11, 10, 3, 0)},
				{proc(10, 1, 6, 4)}, // 11 ran 1 more tick, exited, 10 reaped it: cutime 4
			},
			want: []uint64{8, 5 + 3 + 1 + 1},
		},
		{
			name: "a child born and reaped between passes counts through cutime",
			passes: [][]procSample{
				{proc(10, 1, 5, 0)},
				{proc(10, 1, 5, 40)},
			},
			want: []uint64{5, 45},
		},
		{
			name: "the parent's cutime shows up one pass after the child vanished",
			passes: [][]procSample{
				{proc(10, 1, 5, 0), proc(11, 10, 3, 0)},
				{proc(10, 1, 5, 0)},  // 11 reaped after 10's stat was read
				{proc(10, 1, 7, 3)},  // now it shows: 2 own ticks are new
				{proc(10, 1, 8, 3)},  // and the debt is gone
				{proc(10, 1, 8, 3)},  // steady
				{proc(10, 1, 10, 3)}, // grows again
			},
			want: []uint64{8, 8, 10, 11, 11, 13},
		},
		{
			name: "a reused pid is a new process",
			passes: [][]procSample{
				{proc(10, 1, 50, 0)},
				{{pid: 10, ppid: 1, pgrp: 10, start: 999999, self: 2}},
			},
			want: []uint64{50, 52},
		},
		{
			name: "never goes down",
			passes: [][]procSample{
				{proc(10, 1, 50, 0), proc(11, 10, 30, 0), proc(12, 10, 30, 0)},
				{proc(10, 1, 50, 0)}, // both children vanished, no cutime (SIGCHLD ignored)
				{proc(10, 1, 51, 0)},
				{proc(10, 1, 70, 0)},
			},
			want: []uint64{110, 110, 110, 129},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var a cpuAccount
			for i, p := range tc.passes {
				if got := a.update(p); got != tc.want[i] {
					t.Fatalf("pass %d: counter %d, want %d", i, got, tc.want[i])
				}
			}
		})
	}
}

// writeFixture writes a synthetic /proc: one stat per process, and tcp
// tables. fds maps a pid to socket inodes its fds point at.
func writeFixture(t testing.TB, root string, procs []procSample, fds map[int][]string, tcp string) {
	t.Helper()
	for _, p := range procs {
		dir := filepath.Join(root, itoa(p.pid))
		if err := os.MkdirAll(filepath.Join(dir, "fd"), 0o755); err != nil {
			t.Fatal(err)
		}
		line := itoa(p.pid) + " (work er) S " + itoa(p.ppid) + " " + itoa(p.pgrp) + " 1 0 -1 0 0 0 0 0 " +
			u64(p.self) + " 0 " + u64(p.children) + " 0 20 0 1 0 " + u64(p.start) + " 100 " + itoa(int(p.rssPages)) + " 0\n"
		if err := os.WriteFile(filepath.Join(dir, "stat"), []byte(line), 0o644); err != nil {
			t.Fatal(err)
		}
		for i, target := range fds[p.pid] {
			if err := os.Symlink(target, filepath.Join(dir, "fd", itoa(i))); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := os.MkdirAll(filepath.Join(root, "net"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "net", "tcp"), []byte(tcp), 0o644); err != nil {
		t.Fatal(err)
	}
}

func itoa(i int) string   { return strconv.Itoa(i) }
func u64(u uint64) string { return strconv.FormatUint(u, 10) }

var fixtureNow = time.Unix(1_000_000, 0)

const fixtureTCP = `  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 5001 1 0 100 0 0 10 0
   1: 00000000:1F91 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 5002 1 0 100 0 0 10 0
   2: 0100007F:1F92 0100007F:D431 01 00000000:00000000 00:00000000 00000000     0        0 5003 1 0 100 0 0 10 0
`

// TestSamplerPass_Fixture checks grouping, descendants that left the group,
// RSS, CPU and ports on a synthetic /proc.
func TestSamplerPass_Fixture(t *testing.T) {
	root := t.TempDir()
	procs := []procSample{
		{pid: 1, ppid: 0, pgrp: 1, start: 1, self: 1000, rssPages: 1000},     // init: nobody's
		{pid: 50, ppid: 1, pgrp: 50, start: 2, self: 1000, rssPages: 1000},   // the daemon
		{pid: 100, ppid: 50, pgrp: 100, start: 3, self: 10, rssPages: 10},    // instance a
		{pid: 101, ppid: 100, pgrp: 100, start: 4, self: 5, rssPages: 5},     // a's child
		{pid: 102, ppid: 101, pgrp: 102, start: 5, self: 2, rssPages: 2},     // a's grandchild, setsid
		{pid: 103, ppid: 102, pgrp: 102, start: 6, self: 1, rssPages: 1},     // and its child
		{pid: 104, ppid: 1, pgrp: 100, start: 7, self: 3, rssPages: 3},       // orphan still in a's group
		{pid: 200, ppid: 50, pgrp: 200, start: 8, self: 100, rssPages: 20},   // instance b
		{pid: 300, ppid: 1, pgrp: 300, start: 9, self: 100, rssPages: 20000}, // unrelated
	}
	writeFixture(t, root, procs, map[int][]string{
		101: {"/dev/null", "socket:[5001]", "pipe:[77]"},
		103: {"socket:[5002]", "socket:[5003]"},
		200: {"socket:[5003]"},
		300: {"socket:[5001]"},
	}, fixtureTCP)
	s := NewSampler(root)
	t.Cleanup(s.Close)
	s.pageSize = 4096
	targets := []Target{{UID: "a", PID: 100}, {UID: "b", PID: 200}, {UID: "gone", PID: 400}}
	got, err := s.Pass(fixtureNow, targets)
	if err != nil {
		t.Fatal(err)
	}
	a := got["a"]
	if want := uint64(10+5+2+1+3) * 4096; a.MemoryBytes != want {
		t.Errorf("a: memory %d, want %d", a.MemoryBytes, want)
	}
	if want := float64(10+5+2+1+3) / 100; a.CPUSeconds != want {
		t.Errorf("a: cpu %v s, want %v", a.CPUSeconds, want)
	}
	if want := []int32{0x1F90, 0x1F91}; !slices.Equal(a.Listening, want) {
		t.Errorf("a: listening %v, want %v", a.Listening, want)
	}
	if b := got["b"]; b.MemoryBytes != 20*4096 || b.Listening != nil {
		t.Errorf("b: %+v, want 20 pages and no listening port (5003 is not LISTEN)", b)
	}
	if _, ok := got["gone"]; ok {
		t.Errorf("a target with no process was sampled")
	}
}
