// Package shim holds the daemon's two exec shims: the sockets shim of
// instances with sockets (see runtime/sockets), and the waiting shim of
// instances whose exit must be recorded (WaitArg; see "Exit records" in
// runtime/exec). Imported for its init by the daemon's main (and by the
// tests whose binary stands in for the daemon), it checks, before any
// other package of the binary is initialised, whether the process was
// started as a shim. As the sockets shim (argv[1] is sockets.ShimArg) it
// sets LISTEN_PID to its own PID and execs the command; as the waiting
// shim it runs the command as its child, writes its exit into a file and
// ends the same way; as the init runner (InitArg) it runs an instance's
// init steps, then execs or waits for the command. Either way the process
// never reaches main.
//
// It works in init and imports only syscall so that the shim skips the
// initialisation of everything else the daemon links (a validator, YAML,
// Prometheus, net/http: some 20 ms a start on a busy host). Go
// initialises a package as soon as its imports are, so this one runs
// right after syscall's. It must never import anything else (but unsafe,
// which has no init: the waiting shim sets signal dispositions with a raw
// rt_sigaction), log, or do anything in a process that is not a shim.
package shim
