package testutil

import (
	"math/rand/v2"
	"net"
	"os"
	"strconv"
	"strings"
	"testing"
)

// ListenPort listens on addr (port 0: any) until the test ends and returns
// the port; false when the network is not available here (no IPv6).
func ListenPort(t testing.TB, network, addr string) (int32, bool) {
	t.Helper()
	ln, err := net.Listen(network, addr)
	if err != nil {
		return 0, false
	}
	t.Cleanup(func() { ln.Close() })
	return int32(ln.Addr().(*net.TCPAddr).Port), true
}

// FreePort returns a TCP port free on 127.0.0.1 now, for a process the
// test starts to listen on. It is picked at random below the kernel's
// ephemeral range (ip_local_port_range, 32768-60999 by default): a port
// from there (port 0) can be taken, between this check and the process's
// bind, by any outgoing connection of the host's other tests, which left
// probes dialing nothing for their whole deadline under a loaded `make test`.
func FreePort(t testing.TB) int32 {
	t.Helper()
	hi := 32768
	if b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range"); err == nil {
		if f := strings.Fields(string(b)); len(f) == 2 {
			if lo, err := strconv.Atoi(f[0]); err == nil && lo > 12000 {
				hi = lo
			}
		}
	}
	lo := hi - 10000
	for range 200 {
		p := lo + rand.IntN(hi-lo)
		if ln, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(p)); err == nil {
			ln.Close()
			return int32(p)
		}
	}
	t.Fatalf("no free port in %d-%d", lo, hi-1)
	return 0
}
