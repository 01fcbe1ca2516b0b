// Package runtime is the reconciler's door to the operating system.
//
// It owns spawning instances (argv without a shell, $(VAR) expansion, the
// environment, working dir, user, RLIMIT_NOFILE, a process group each),
// stopping them (preStop, the stop signal to the group, SIGKILL after the
// grace period), reaping them, and writing their output to rotated log
// files. It must not decide whether to start or stop anything: that is the
// reconciler's. It reports what it observes: Instances for the level, and
// Events (a name, never a decision) when an instance exits.
//
// Interface is the contract; Exec (Linux only) is the real implementation.
// The reconciler uses only Interface; main constructs the Exec.
//
// # Processes
//
// Each instance is started with Setpgid and signalled as a group (-pgid), so
// a shell wrapper and everything it forked stop together. Exactly one
// goroutine per instance reaps it. It waits on a pidfd without reaping
// (the exited leader stays a zombie, so its pid and group id cannot be
// reused), SIGKILLs whatever is left of the group (so no straggler keeps the
// output open), then reaps. A process that escaped the group (setsid)
// leaks: nothing short of a cgroup reaches it. Pdeathsig is never set and
// no instance is tied to a context: instances outlive the daemon.
//
// Stop runs preStop (not on a crash; the hook is killed at the end of the
// grace period or when the instance exits), sends the stop signal, and
// SIGKILLs the group after what is left of the grace period, but never
// less than 2 s after the signal (as the kubelet does, also when preStop
// used the whole grace period). A grace period of 0 skips preStop and
// kills at once.
//
// # Shutdown policy
//
// The daemon chooses once, with --on-exit: StopAll ("stop", the default)
// stops every instance in parallel by its own spec and waits for the
// exits; Detach ("keep") leaves every instance running, stops reading
// their output and ends every goroutine of the Exec. Either one makes Start
// refuse (ErrClosed). Run only delivers events; cancelling it stops nothing.
//
// # Output
//
// Every stream of an instance goes through a named FIFO,
// <state-dir>/run/<uid>.stdout and .stderr, never an anonymous pipe to the
// daemon. The instance gets the FIFO opened O_RDWR as its stdout/stderr,
// so it always holds a read side itself: when the daemon dies, its writes
// neither fail (EPIPE) nor kill it (SIGPIPE), which is what kills the
// children of PM2, supervisord and process-compose. The daemon reads the
// FIFO through a separate O_RDONLY|O_NONBLOCK open (Go's poller, cancellable)
// and one goroutine per stream copies lines to
// <state-dir>/logs/<app>/<instance>.<stream>.log. The reader sees EOF once
// every process holding the write side is gone. A new daemon can reopen
// the FIFO by path and read on where the old one stopped (adoption); the
// instance's PROCLET_UID environment variable names the files.
//
// The limit: while no daemon reads, output accumulates in the pipe buffer,
// enlarged to 1 MiB (4 MiB when the daemon is root) with F_SETPIPE_SZ.
// When it is full the instance blocks in write(2) until a daemon reads
// again: it never dies of it and never loses a line, but a chatty instance
// stalls during a long daemon downtime. What is still buffered when an
// instance exits while no daemon runs is lost with the pipe.
//
// # Logs
//
// Log files are appended across restarts of an instance and rotated by
// size (spec.logs.maxSize): .log becomes .log.1, .1 becomes .2 and so on,
// keeping maxFiles rotated files. Rotation happens only at a line boundary,
// so a line is never split across files, and a line longer than maxSize
// goes whole into one file. A reader holds at most 16 KiB; a longer line is
// written in pieces, still into one file. A write error (a full disk) is
// logged once and the output is dropped while it lasts: the reader keeps
// draining, so an instance never blocks on the daemon's disk.
package runtime
