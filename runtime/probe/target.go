package probe

import (
	"net"
	"net/netip"
)

// pollTarget is what the scheduler's poller needs to run an HTTP or TCP
// probe itself: an IP address to connect to and, for HTTP, the request.
type pollTarget struct {
	ap   netip.AddrPort
	addr string // ap as net prints a TCP address, for messages
	// req is the HTTP request; nil for a TCP probe (connect only).
	req []byte
	// get is the prefix of an HTTP run's failures: `Get "URL": `.
	get  string
	http *httpProbe // follows the redirects
	sa   any        // the poller's socket address for ap, built on first use
}

// pollable is a runner the poller can run.
type pollable interface {
	// pollTarget is nil when this runner cannot be polled (a host name,
	// https, an invalid header): its runs go to the pool.
	pollTarget() *pollTarget
}

// newPollTarget is the target of host:port, nil when host is not an IP
// address (a name is resolved at every run, by the pool).
func newPollTarget(host string, port int) *pollTarget {
	ip, err := netip.ParseAddr(host)
	if err != nil || ip.Zone() != "" || port < 1 || port > 65535 {
		return nil
	}
	ap := netip.AddrPortFrom(ip.Unmap(), uint16(port))
	if ip.Is4In6() {
		ap = netip.AddrPortFrom(ip, uint16(port))
	}
	return &pollTarget{ap: ap, addr: net.TCPAddrFromAddrPort(ap).String()}
}
