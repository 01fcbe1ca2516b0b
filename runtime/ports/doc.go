// Package ports allocates the instances' ports (spec.ports: fixed ports
// and ranges), keeps them sticky per ordinal across restarts and daemon
// restarts in <state-dir>/ports.json, and checks the host for ports
// something else listens on (sock_diag, or /proc/net/tcp{,6}). It holds
// the listening sockets of spec.sockets too (runtime/sockets), released
// with the ports, so that a socket's port and an instance's port are
// checked against each other (sockets_linux.go).
//
// It owns the allocations, their file and the set of sockets only: it must never start, stop
// or signal a process, never hold a lock across the host check's reads
// beyond one call, and never import runtime/exec (exec calls Assign and
// Release around each instance's life).
package ports
