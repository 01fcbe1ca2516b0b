// Package procfs reads what the runtime needs to know of the host's
// processes: the sampler (CPU, memory and listening ports of every
// instance's process tree, in one batched pass over /proc), the host's TCP
// LISTEN sockets (sock_diag, or /proc/net/tcp{,6}), and a process's
// identity (its start time, group, session, environment).
//
// It only reads: it must never signal, start or wait for a process, never
// hold a lock of its callers (a Sampler is used by one goroutine), never
// allocate per process in a pass, and never import runtime/exec.
package procfs
