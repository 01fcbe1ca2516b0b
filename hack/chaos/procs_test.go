package main

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestParseStat(t *testing.T) {
	// A command name with a space and a ')' in it.
	stat := "4242 (work load) (x)) S 1 4240 4240 0 -1 4194560 1 0 0 0 0 0 0 0 20 0 1 0 987654 1 1 0 0 0"
	pgid, state, start, err := parseStat([]byte(stat))
	if err != nil || pgid != 4240 || state != 'S' || start != 987654 {
		t.Fatalf("pgid %d state %c start %d err %v", pgid, state, start, err)
	}
	if _, _, _, err := parseStat([]byte("12 (short) S 1")); err == nil {
		t.Fatal("a short stat parsed")
	}
}

func TestParseEnviron(t *testing.T) {
	env := parseEnviron([]byte("PATH=/bin\x00PROCLET_UID=u1\x00PROCLET_APP=web\x00CHAOS_RUN=tok\x00WEIRD\x00PROCLET_X=a=b\x00"))
	want := map[string]string{"PROCLET_UID": "u1", "PROCLET_APP": "web", "CHAOS_RUN": "tok", "PROCLET_X": "a=b"}
	if !reflect.DeepEqual(env, want) {
		t.Fatalf("env %v, want %v", env, want)
	}
}

func TestMarkerOwns(t *testing.T) {
	m := marker{stateDir: "/tmp/c/state", token: "tok"}
	for _, tc := range []struct {
		env  map[string]string
		want bool
	}{
		{map[string]string{"PROCLET_UID": "u", "CHAOS_RUN": "tok"}, true},
		{map[string]string{"PROCLET_UID": "u", "PROCLET_STATE_DIR": "/tmp/c/state/"}, true},
		{map[string]string{"PROCLET_UID": "u", "PROCLET_STATE_DIR": "/other", "CHAOS_RUN": "other"}, false},
		{map[string]string{"PROCLET_UID": "u", "CHAOS_RUN": "other"}, false},
		{map[string]string{"CHAOS_RUN": "tok"}, false}, // not an instance: the daemon, a probe's shell
	} {
		if got := m.owns(tc.env); got != tc.want {
			t.Errorf("owns(%v) = %v", tc.env, got)
		}
	}
}

const tcpHeader = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n"

func TestParseListeners(t *testing.T) {
	data := tcpHeader +
		"   0: 0100007F:5208 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 111 1 0 100 0 0 10 0\n" +
		"   1: 0100007F:9C40 0100007F:5208 01 00000000:00000000 00:00000000 00000000     0        0 222 1 0 20 4 30 10 -1\n"
	tcp6 := tcpHeader +
		"   0: 00000000000000000000000000000000:1F90 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 333 1 0 100 0 0 10 0\n"
	got := map[uint64]int{}
	if err := parseListeners(strings.NewReader(data), got); err != nil {
		t.Fatal(err)
	}
	if err := parseListeners(strings.NewReader(tcp6), got); err != nil {
		t.Fatal(err)
	}
	if want := map[uint64]int{111: 21000, 333: 8080}; !reflect.DeepEqual(got, want) {
		t.Fatalf("listeners %v, want %v", got, want)
	}
}

// fakeProc builds a /proc tree with the given processes.
type fakeProc struct {
	pid, pgid int
	state     string
	env       []string
	sockets   []int // socket inodes among its fds
}

func writeFakeProc(t *testing.T, root string, procs []fakeProc, tcp string) {
	t.Helper()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	for _, p := range procs {
		dir := filepath.Join(root, fmt.Sprint(p.pid))
		must(os.MkdirAll(filepath.Join(dir, "fd"), 0o755))
		stat := fmt.Sprintf("%d (workload) %s 1 %d %d 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 %d 0 0", p.pid, p.state, p.pgid, p.pgid, 1000+p.pid)
		must(os.WriteFile(filepath.Join(dir, "stat"), []byte(stat), 0o644))
		must(os.WriteFile(filepath.Join(dir, "environ"), []byte(strings.Join(p.env, "\x00")), 0o644))
		must(os.WriteFile(filepath.Join(dir, "cmdline"), []byte("workload\x00--line-id\x00"), 0o644))
		for i, ino := range p.sockets {
			must(os.Symlink(fmt.Sprintf("socket:[%d]", ino), filepath.Join(dir, "fd", fmt.Sprint(3+i))))
		}
		must(os.Symlink("/dev/null", filepath.Join(dir, "fd", "0")))
	}
	must(os.MkdirAll(filepath.Join(root, "net"), 0o755))
	must(os.WriteFile(filepath.Join(root, "net", "tcp"), []byte(tcp), 0o644))
	must(os.MkdirAll(filepath.Join(root, "self"), 0o755))
}

func TestScanFakeProc(t *testing.T) {
	root := t.TempDir()
	ours := func(uid string) []string {
		return []string{"CHAOS_RUN=tok", "PROCLET_UID=" + uid, "PROCLET_APP=web", "PROCLET_INSTANCE=web-0"}
	}
	writeFakeProc(t, root, []fakeProc{
		{pid: 100, pgid: 100, state: "S", env: ours("u1"), sockets: []int{111, 999}},
		{pid: 101, pgid: 100, state: "S", env: ours("u1")},                                          // a child in the group
		{pid: 200, pgid: 200, state: "Z", env: ours("u2")},                                          // a zombie: exited
		{pid: 300, pgid: 300, state: "S", env: []string{"PROCLET_UID=x", "CHAOS_RUN=someone-else"}}, // another run's
		{pid: 400, pgid: 400, state: "S", env: []string{"PATH=/bin"}},
	}, tcpHeader+"   0: 0100007F:5208 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 111 1 0 100 0 0 10 0\n")

	fs := procFS{root: root}
	got, err := fs.scan(marker{stateDir: "/nowhere", token: "tok"})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].pid != 100 || got[1].pid != 101 {
		t.Fatalf("scan: %v", got)
	}
	if p := got[0]; p.pgid != 100 || p.uid() != "u1" || p.app() != "web" || p.instance() != "web-0" ||
		p.startTicks != 1100 || !reflect.DeepEqual(p.listening, []int{21000}) || p.cmdline != "workload --line-id" {
		t.Fatalf("pid 100: %+v", p)
	}
	if len(got[1].listening) != 0 {
		t.Fatalf("pid 101 listens: %v", got[1].listening)
	}

	tr := newTracker(fs, marker{token: "tok"})
	if _, ok := tr.current(100, "u1", 1100); !ok {
		t.Fatal("pid 100 is not current")
	}
	for _, tc := range []struct {
		pid   int
		uid   string
		start uint64
	}{{100, "u2", 0}, {100, "u1", 5}, {200, "u2", 0}, {300, "x", 0}, {999, "u1", 0}} {
		if _, ok := tr.current(tc.pid, tc.uid, tc.start); ok {
			t.Errorf("current(%d, %s, %d) holds", tc.pid, tc.uid, tc.start)
		}
	}
}
