package testutil

import (
	"net"
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
