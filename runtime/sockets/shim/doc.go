// Package shim is the exec shim of instances with sockets (see
// runtime/sockets): imported for its init by the daemon's main (and by the
// tests whose binary stands in for the daemon), it checks, before any
// other package of the binary is initialised, whether the process was
// started as the shim (argv[1] is sockets.ShimArg); if so it sets
// LISTEN_PID to its own PID and execs the command, and the process never
// reaches main.
//
// It works in init and imports only syscall so that the shim skips the
// initialisation of everything else the daemon links (a validator, YAML,
// Prometheus, net/http: some 20 ms a start on a busy host). Go
// initialises a package as soon as its imports are, so this one runs
// right after syscall's. It must never import anything else, log, or do
// anything in a process that is not the shim.
package shim
