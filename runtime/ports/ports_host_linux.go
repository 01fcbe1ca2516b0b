package ports

import "proclet.dev/proclet/runtime/procfs"

// HostListeners returns the TCP ports something on the host (in the
// daemon's network namespace) listens on, on any address, IPv4 or IPv6.
// It asks the kernel for its LISTEN sockets over sock_diag netlink, which
// walks only the listening hash: tens of microseconds. Where sock_diag is
// unavailable it reads procNet ("/proc/net") tcp and tcp6, which is
// correct but walks the whole established hash, empty buckets included:
// milliseconds per read on a host with a large table.
func HostListeners(procNet string) (*Set, error) {
	set := new(Set)
	if diagListeners(set) == nil {
		return set, nil
	}
	return set, procListeners(procNet, set)
}

// diagListeners adds the ports of every TCP LISTEN socket, IPv4 and IPv6,
// to set, over sock_diag.
func diagListeners(set *Set) error {
	return procfs.DiagListenSockets(nil, func(port int32, _ uint64) { set.add(port) })
}

// procListeners adds the LISTEN ports of procNet/tcp and tcp6 to set. A
// missing tcp6 (IPv6 disabled) is no error.
func procListeners(procNet string, set *Set) error {
	return procfs.ProcListenSockets(procNet, func(port int32, _ uint64) { set.add(port) })
}

// parseListeners adds the local port of every LISTEN row of a
// /proc/net/tcp{,6} table to set.
func parseListeners(data []byte, set *Set) {
	procfs.ParseListenSockets(data, func(port int32, _ uint64) { set.add(port) })
}
