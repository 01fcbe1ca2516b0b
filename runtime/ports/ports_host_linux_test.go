package ports

import (
	"fmt"
	"net"
	"testing"

	"proclet.dev/proclet/apis/v1alpha1"
	"proclet.dev/proclet/runtime/internal/testutil"
)

func TestHostListeners(t *testing.T) {
	var want []int32
	for _, l := range []struct{ network, addr string }{
		{"tcp4", "127.0.0.1:0"}, {"tcp4", "0.0.0.0:0"}, {"tcp6", "[::1]:0"}, {"tcp", "[::]:0"},
	} {
		if p, ok := testutil.ListenPort(t, l.network, l.addr); ok {
			want = append(want, p)
		}
	}
	// A connected socket (not listening) on a port of its own.
	if len(want) > 0 {
		c, err := net.Dial("tcp4", fmt.Sprintf("127.0.0.1:%d", want[0]))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		local := int32(c.LocalAddr().(*net.TCPAddr).Port)
		for name, read := range map[string]func(*Set) error{
			"sock_diag": diagListeners,
			"proc":      func(s *Set) error { return procListeners("/proc/net", s) },
		} {
			set := new(Set)
			if err := read(set); err != nil {
				t.Errorf("%s: %v", name, err)
				continue
			}
			for _, p := range want {
				if !set.Has(p) {
					t.Errorf("%s: listener on %d missing", name, p)
				}
			}
			if set.Has(local) {
				t.Errorf("%s: the connected port %d counts as listening", name, local)
			}
		}
	}
	if _, err := HostListeners("/nonexistent"); err != nil {
		t.Errorf("hostListeners needs /proc although sock_diag works: %v", err)
	}
}

// BenchmarkHostListeners compares the two ways to read the host's
// listeners.
func BenchmarkHostListeners(b *testing.B) {
	b.Run("sock_diag", func(b *testing.B) {
		for b.Loop() {
			if err := diagListeners(new(Set)); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("proc", func(b *testing.B) {
		for b.Loop() {
			if err := procListeners("/proc/net", new(Set)); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkAssign500 fills a 500-port range, one Start's worth of work per
// instance: the host's listeners read from /proc, then the allocation.
func BenchmarkAssign500(b *testing.B) {
	http := []v1alpha1.PortSpec{rangePort("http", "20000-20499")}
	for b.Loop() {
		a := newPortAllocator()
		for o := range 500 {
			host, err := HostListeners("/proc/net")
			if err != nil {
				b.Fatal(err)
			}
			if _, err := a.assign(fmt.Sprintf("u%d", o), portKey{"web", o}, http, host); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*500), "ns/assign")
}

func TestParseListeners(t *testing.T) {
	const tcp = `  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1001 1 0000000000000000 100 0 0 10 0
   1: 00000000:0016 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1002 1 0000000000000000 100 0 0 10 0
   2: 0100007F:1F91 0100007F:D431 01 00000000:00000000 00:00000000 00000000     0        0 1003 1 0000000000000000 20 4 30 10 -1
   3: garbage
`
	const tcp6 = `  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000000000000000000001000000:FFFF 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 2001 1 0000000000000000 100 0 0 10 0
   1: 00000000000000000000000000000000:1f92 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 2002 1 0000000000000000 100 0 0 10 0`
	set := new(Set)
	parseListeners([]byte(tcp), set)
	parseListeners([]byte(tcp6), set)
	var got []int32
	for p := int32(0); p < 65536; p++ {
		if set.Has(p) {
			got = append(got, p)
		}
	}
	if fmt.Sprint(got) != "[22 8080 8082 65535]" {
		t.Errorf("listeners = %v, want [22 8080 8082 65535] (8081 is an established connection)", got)
	}
}
