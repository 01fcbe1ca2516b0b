// Package runtime is the reconciler's door to the operating system.
//
// It owns spawning instances (argv without a shell, $(VAR) expansion, the
// environment, working dir, user, RLIMIT_NOFILE, a process group each),
// stopping them (preStop, the stop signal to the group, SIGKILL after the
// grace period), reaping them, and writing their output to rotated log
// files, and probing them. It must not decide whether to start or stop
// anything: that is the reconciler's. It reports what it observes:
// Instances for the level, and Events (a name, never a decision) when an
// instance exits or its probes change its status.
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
//
// # Ports
//
// Start allocates an instance's ports from Spec.Ports when StartSpec.Ports
// is nil; a caller that passes Ports keeps them (held all the same). The
// ports reach the instance as PORT (the first in spec order) and
// PORT_<NAME>, and State.Ports. A fixed port is used as is, except that
// Start fails with a *PortInUseError, keeping no handle, when another live
// instance of this Exec holds it or something on the host listens on it.
// A range gives an instance, in this order: the port its ordinal (app,
// ordinal) had last, if free; the lowest free port that is no other
// ordinal's last port; the lowest free port. So an instance keeps its port
// across restarts, a scale-up does not take the port of an ordinal waiting
// out its backoff, and a rollout's surge instance (a second live instance
// of an ordinal) gets another port, which becomes the ordinal's once the
// old instance is released. Free means held by no live instance (running,
// stopping, or exited and not yet released) of any app of this Exec and
// no TCP LISTEN socket on any address, IPv4 or IPv6, in the daemon's
// network namespace, read once per Start. The listeners come from a
// sock_diag netlink dump of LISTEN sockets (what ss -ltn does: about 65 µs,
// the kernel walks only its listening hash); /proc/net/tcp and tcp6 are the
// fallback where sock_diag is missing, as reading them walks the whole
// established hash (about 10 ms a Start on a large host). A range with no
// free port is a *PortInUseError with Port 0. The host check is advisory:
// a process can still take a port between the check and the instance's
// bind.
//
// Ports are held from Start until Release (or the failure of the Start).
// Both tables, each ordinal's last ports and each live uid's ports, are
// written to <state-dir>/ports.json on every change (temp file, fsync,
// rename), and NewExec reads them back, so a restarted daemon gives each
// ordinal its port again. The live table of a previous daemon reserves
// nothing (no handle of this Exec runs it): an instance it left running
// keeps its port through the host check while it listens. An unreadable
// file is logged and replaced. The last ports of removed ordinals and apps
// are kept too (a scale-up gets them back); they only steer allocation
// while other ports are free.
//
// # Probes
//
// Start sets State.Probe (InitialProbeStatus: Started without a startup
// probe, Ready from the start without a startup or readiness probe) and,
// when the spec has probes, starts a probe worker for the instance. It
// runs the startup probe alone until it succeeds, then readiness and
// liveness, each in a goroutine of its own on its own period, with the
// Kubernetes semantics and defaults (initialDelaySeconds 0, periodSeconds
// 10, timeoutSeconds 1, successThreshold 1, failureThreshold 3; success
// threshold 1 for liveness and startup). The initial delay counts from the
// process start; the first run of each probe also waits a random fraction
// of its period, so that instances started together do not probe
// together; then one run a period, from the schedule, not from the end of
// the last run. A run that was cancelled (Stop) counts for nothing.
//
// Results go through the thresholds (probeCounter, pure). A readiness
// transition flips Ready (and ReadySince); a readiness failure never ends
// anything. A liveness or startup probe reaching its failure threshold sets
// Failed (LivenessProbeFailed, StartupProbeFailed), clears Ready and ends
// all probing of the instance: the reconciler decides the restart, and the
// replacement is a new instance with a new worker. Every transition
// updates State.Probe under the Exec's lock and sends one Event; a failure
// below the threshold only updates Message, without an Event. The worker
// never restarts, stops or signals the instance. ExecOptions.OnProbe sees
// every run. Stop, the instance's exit (which also clears Ready) and Detach
// end the worker (StopAll through Stop), under the lock, so no result is
// applied after them; StopAll and Detach wait for it.
//
// Runners, one per kind: httpGet connects to the probe's host or
// 127.0.0.1, the port by number or by name (the instance's ports, or a
// fixed port of the spec; an unknown name fails every run), without a
// proxy, without keep-alive, skipping TLS verification; 200-399 is success;
// redirects are followed to the same host only, a redirect to another host
// is a success with a logged warning; at most 10 KiB of the body is read.
// tcpSocket succeeds when a connection opens. exec runs the command
// ($(VAR)-expanded as the kubelet does) with the instance's environment,
// working dir and user, in a process group of its own, its output into a
// pipe read at most 10 KiB; exit 0 is success. At the timeout its group is
// SIGKILLed (the leader is not reaped until then, as for instances), and
// when it exits whatever it left in its group is killed too. The pipe is
// never waited on beyond 100 ms after that, so a grandchild that escaped
// the group holding stdout cannot hang the probe.
//
// # Sampling
//
// Run samples every live instance once per ExecOptions.SampleInterval, in
// one pass over /proc that holds no lock during its reads (sample_linux.go),
// into State.Usage: the CPU time (a counter that never goes down, counting
// reaped children through cutime), RSS and listening TCP ports of the
// instance's process tree (its process group, plus descendants that left
// the group while their parent chain leads back into it). A sample sends no
// Event; OnSample is called once after each pass instead.
package runtime
