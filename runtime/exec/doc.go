// Package exec is the Linux implementation of runtime.Interface: every
// instance is an OS process of this host.
//
// It owns spawning instances (argv without a shell, $(VAR) expansion
// within v1alpha1's bounds, checked again here with the daemon's own
// environment, the environment, working dir, user, RLIMIT_NOFILE, a process group each),
// stopping them (preStop, the stop signal to the group, SIGKILL after the
// grace period), reaping them, adopting them after a daemon restart,
// writing their output to rotated log files, probing and sampling them,
// and its state files (instances.json, ports.json). It must never decide
// whether to start or stop anything: that is the reconciler's. It reports
// what it observes: Instances for the level, and Events (a name, never a
// decision) when an instance exits or its probes change its status.
//
// The reconciler uses only runtime.Interface; main constructs the Runtime.
//
// # Processes
//
// Each instance is started in its own session (Setsid: so in its own
// group too, pgid == pid, and away from the daemon's terminal and its
// SIGHUP) and signalled as a group (-pgid), so
// a shell wrapper and everything it forked stop together. Exactly one
// goroutine per instance reaps it, started when the instance exits: until
// then the instance's pidfd sits in the output loop's epoll set
// (output_poll_linux.go), so a running instance costs no goroutine. The
// waiter checks the pidfd without reaping
// (the exited leader stays a zombie, so its pid and group id cannot be
// reused), SIGKILLs whatever is left of the group (so no straggler keeps the
// output open), then reaps. A process that escaped the group (setsid)
// leaks, unless the instance has a cgroup (see Limits). Pdeathsig is never set and
// no instance is tied to a context: instances outlive the daemon.
//
// The fork/exec runs on one of four threads with a fd table of their own
// (unshare(CLONE_FILES), forker_linux.go): a fork copies the forking
// thread's table and the exec closes every close-on-exec fd of the copy,
// and the daemon's table holds ~5 fds per instance, which made a start
// beside 1000 instances ~2.3 ms slower than beside 10. Instances with a
// cgroup or sockets, and hosts that refuse unshare, fork from the daemon's
// table.
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
// their output and ends every goroutine of the Runtime. Either one makes Start
// refuse (ErrClosed). Run only delivers events; cancelling it stops nothing.
//
// # Adoption
//
// A daemon killed (kill -9, OOM, a crash) or stopped with --on-exit keep
// leaves its instances running; the next daemon on the same state dir
// adopts them in New, before anything can be started, so that no
// instance ever runs twice. Three things make that possible:
//
//   - <state-dir>/instances.json lists every handle not yet released: uid,
//     the StartSpec (app, instance, ordinal, revision, spec, dir, ports),
//     the fd of each of its sockets (listenFDs), pid, the process start time in clock ticks (/proc/<pid>/stat field
//     22), startedAt, the last ProbeStatus, and the exit once there is one.
//     It is written atomically (temp file, fsync, rename) by a goroutine of
//     Run 100 ms after a change (a start, an exit, a probe transition, a
//     release), with the changes made meanwhile: not at once, so that the
//     write, which encodes and hashes every record, never runs beside the
//     restart an exit begins; and at once by Detach and StopAll. Exits of
//     planned stops (reason "Stopped") are left out.
//   - Every instance's environment carries a marker: PROCLET_UID,
//     PROCLET_REVISION and PROCLET_STATE_DIR (the absolute state dir),
//     which the spec cannot override.
//   - The output FIFOs, which the instance holds open (see Output).
//
// A record is adopted only if /proc/<pid>/stat shows the recorded start
// time and /proc/<pid>/environ holds PROCLET_UID=<uid>: a recycled PID is
// never adopted, never signalled. The handle is Running (not Stopping),
// with the recorded spec, pid, startedAt and ports (held again in the
// port allocator); its probes go on from the recorded status (a startup
// probe passed is not run again, a ready instance stays ready until its
// readiness probe fails its threshold, so nothing flaps); its readers
// reopen the FIFOs by path (or through /proc/<pid>/fd when the path no
// longer names them) and append to the same log files; its exit is watched
// through a pidfd (pidfd_open works for a process that is not our child),
// or, where the kernel lacks pidfd_open, by polling /proc/<pid> every
// 200 ms with the start time check. Not being our child, an adopted
// instance is reaped by init, and its exit code cannot be known unless it
// runs under the waiting shim (see Exit records): its exit is the one the
// shim recorded, else {Code: -1, Reason: "Unknown"} (or the reason of our
// Stop), at the time it was noticed. Stop works as for any instance, except that each
// signal to the group is sent only while the exit watcher has not fired
// and /proc still shows the recorded start time.
//
// A record whose process is gone (or whose PID now names another process)
// becomes an exited handle, Exit{Code: -1, Reason: "Unknown"} (or the
// exit its waiting shim recorded), with its
// FIFOs removed: the reconciler absorbs it as a crash and restarts it
// under its policy. A record of an instance that had exited under the
// last daemon reports that exit. Release then forgets it as any exit.
//
// Then, always, /proc is scanned for the marker: process group leaders
// (an instance leads its session and group, or only its group when an
// older daemon started it; its children share the marker but are not
// instances) whose PROCLET_STATE_DIR is this state dir. Of the leaders of
// one uid (a setsid escapee leads a session too), the one writing to the
// uid's current FIFO wins, then the oldest: a descendant starts after its
// ancestor.
// This finds the instances when instances.json is missing or corrupt
// (which is logged as an Error), an instance started in the 100 ms before
// the last daemon was killed, and a restart of a uid the file missed (a
// process writing to the uid's current FIFO). Such an instance is rebuilt
// from its environment: PROCLET_APP, PROCLET_INSTANCE, PROCLET_INDEX,
// PROCLET_REVISION, its ports from ports.json's live table (or
// PORT_<NAME>), its start time from /proc (to about 20 ms). Its spec is
// the record's when one of the same uid and revision exists, else unknown
// (nil): it is not probed (Started and Ready) and is stopped with the
// defaults; the reconciler rolls it if its revision is not the desired one.
// Among leaders with the same uid, the one writing to the uid's FIFO, then
// the oldest, is the instance (a preStop hook shares the FIFO but started
// later). FIFOs of the run dir that no live instance owns are removed.
//
// Limits: an adopted instance's exit code is unknown without the waiting
// shim (restartPolicy Always); while no daemon
// runs, an instance's output waits in its pipe (see Output), and an
// instance that exits meanwhile takes what was still buffered with it; a
// preStop hook or an exec probe that outlived its daemon runs to its end.
// A cgroup (Options.CgroupRoot) is not re-attached to an adopted
// instance.
//
// # Output
//
// Every stream of an instance goes through a named FIFO,
// <run-dir>/<uid>.stdout and .stderr (Options.RunDir), never an anonymous pipe to the
// daemon. The instance gets the FIFO opened O_RDWR as its stdout/stderr,
// so it always holds a read side itself: when the daemon dies, its writes
// neither fail (EPIPE) nor kill it (SIGPIPE), which is what kills the
// children of PM2, supervisord and process-compose. The daemon reads the
// FIFO through a separate O_RDONLY|O_NONBLOCK open and copies lines to
// <state-dir>/logs/<app>/<instance>.<stream>.log. One goroutine reads every
// FIFO of the Runtime (output_poll_linux.go): an epoll set of the FIFOs, one
// scratch pipe and a 1 MiB buffer taken only for a round; an idle
// instance costs no goroutine, buffer or extra fd for its output (a
// goroutine per stream cost ~100 KiB per instance: 2000 stacks grown by
// their buffers and 4000 scratch-pipe fds at 1000 instances). A turn gives
// one FIFO at most two rounds, so a flood from one instance does not starve
// the others. A wake that moved less than a round, less than 1 ms after
// the loop began to wait, makes it sleep 1 ms before it waits again
// (outputCoalesce), so small writes are read in batches. A stream the loop cannot read (not a FIFO, no tee(2)) gets a
// goroutine of its own, as does every stream if the epoll set cannot be
// made. The reader sees EOF once
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
// Nothing is lost when the daemon dies at any instant
// (output_splice_linux.go): the reader does not take output out of the
// FIFO before it is in the log, where a kill -9 would lose what it held.
// It peeks at the FIFO with tee(2), finds the line boundaries in the copy,
// writes those lines to the log with their CRI prefixes (between lines, it
// rotates as Write does), then takes exactly those bytes out of the FIFO
// with a splice(2) to /dev/null: the next daemon reads on from the first
// byte not taken, so a daemon killed between the write and the splice
// has that round (at most 1 MiB) written twice, never lost. A full peek
// is written up to its last newline (the rest of the line is in the FIFO
// already); a shorter one whole, its unfinished tail as a P piece, so a
// FIFO holding half a line is never peeked at in a loop. Where tee(2) is
// refused (not a FIFO) the reader copies through memory, as above.
//
// # Logs
//
// Log files are appended across restarts of an instance and rotated by
// size (spec.logs.maxSize): .log becomes .log.1, .1 becomes .2 and so on,
// keeping maxFiles rotated files. Each line is in the CRI log format
// (runtime/logfile: timestamp, stream, F or P), and each start writes a
// marker line (stream proclet) in both files, so the runs can be told
// apart. Rotation happens only between lines. A line longer than a piece
// (64 KiB, or maxSize when smaller) is cut into P pieces, so output without
// newlines is rotated like any other, and a file holds at most maxSize
// plus one line.
// A write error (a full disk) is logged once and the output is dropped
// while it lasts (State.LogError says why): the reader keeps draining, so
// an instance never blocks on the daemon's disk. Each round (up to 1 MiB
// from the FIFO) is written in as few writes as rotation and cuts allow,
// not one per line. Log files are created with Options.LogFileMode
// (0600 by default), and an existing file of another mode is given it.
//
// A log file is open only while it is written: every File is of one
// logfile.OpenFiles (OpenLogs), which bounds how many are open (the least
// recently written closed to open another), and Run closes those not
// written for Options.LogIdleClose (10 s); the next line reopens the
// file at its end. An idle instance holds no log file, and a start's mark
// on a closed file leaves it closed. The bound is half of what the
// descriptor limit leaves once Options.ReservedFDs, the Runtime's own and
// 3 per instance (its pidfd, two FIFOs) are counted (fdroom_linux.go).
//
// A daemon killed while a line is half written leaves a file that ends
// mid-line: the next daemon reads back the file's last line when it opens
// it, and continues that line in it, cut at a piece as any.
//
// # Ports
//
// Start allocates an instance's ports from Spec.Ports when StartSpec.Ports
// is nil; a caller that passes Ports keeps them (held all the same). The
// ports reach the instance as PORT (the first in spec order) and
// PORT_<NAME>, and State.Ports. A fixed port is used as is, except that
// Start fails with a *PortInUseError, keeping no handle, when another live
// instance of this Runtime holds it or something on the host listens on it.
// A range gives an instance, in this order: the port its ordinal (app,
// ordinal) had last, if free; the lowest free port that is no other
// ordinal's last port; the lowest free port. So an instance keeps its port
// across restarts, a scale-up does not take the port of an ordinal waiting
// out its backoff, and a rollout's surge instance (a second live instance
// of an ordinal) gets another port, which becomes the ordinal's once the
// old instance is released. Free means held by no live instance (running,
// stopping, or exited and not yet released) of any app of this Runtime and
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
// rename), and New reads them back, so a restarted daemon gives each
// ordinal its port again. The live table of a previous daemon reserves
// nothing (no handle of this Runtime runs it): an instance it left running
// keeps its port through the host check while it listens. An unreadable
// file is logged and replaced. The last ports of removed ordinals and apps
// are kept too (a scale-up gets them back); they only steer allocation
// while other ports are free.
//
// # Sockets
//
// The sockets of spec.sockets (runtime/sockets) are held with the ports:
// Start asks the port manager for them after the ports (bound on the
// first start of their address, shared by every instance of the app,
// closed after the last Release), and hands them over with systemd's
// protocol (sockets_linux.go): fds 3… in spec order (exec.Cmd's
// ExtraFiles), LISTEN_FDS and LISTEN_FDNAMES, and the exec shim (the
// daemon's own binary, /proc/self/exe) in front of the command to set
// LISTEN_PID. Adoption takes each socket back from the adopted instance
// (pidfd_getfd of the recorded fd, or of its listener on the port) when
// the Runtime does not hold it yet; one that cannot be taken is bound
// again by the next Start.
//
// # Exit records
//
// An instance whose exit code decides what happens next (StartSpec.
// RecordExit: the reconciler sets it for restartPolicy OnFailure and
// Never) is started through the waiting shim (runtime/sockets/shim,
// exitrecord_linux.go), the way containerd's shim outlives containerd:
// the daemon's own binary (/proc/self/exe), run as `proclet
// __proclet-wait-shim RECORD CRED PATH ARGV...`, acts from init before the
// rest of the binary is initialised, forks and execs the command as its
// child, waits for it, writes its exit into RECORD =
// <run dir>/exits/<uid>.json (RECORD.tmp, then a rename:
// {"pid":<the shim's>,"code":C,"signal":S,"at":<Unix ns>}) and ends the
// same way: it exits with the code, or kills itself with the signal, so
// the daemon that started it reaps the very status it would have reaped
// from the command. Always keeps the plain start (and its cost).
//
//   - The shim is the process the daemon tracks: its pidfd, its session and
//     process group (Setsid), its cgroup (the command is born in it), its
//     PID (State.PID, the API's status.pid, the logs' start marks). The
//     command is its child in the same session and group: a stop, which
//     signals the group, reaches the command directly, and the final
//     SIGKILL both. The shim ignores every signal a stopSignal may name
//     (SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1/2, SIGABRT, job control...;
//     not SIGKILL, SIGSTOP) so it outlives its command: a signal sent to the shim's PID alone is not
//     forwarded (signal the group, kill -- -PID, as the daemon does). The
//     command starts with those signals at their defaults (Go's fork
//     resets what its runtime handles).
//   - It never has a parent-death signal: it outlives the daemon.
//   - It runs as the daemon's user, so it can write the record; with
//     spec.user the command gets the user's uid, gid and groups from the
//     shim's fork (what the daemon's would set). An adopting daemon takes
//     the credential for exec probes and preStop from the shim's child.
//   - Environment, working dir, RLIMITs (the openFiles shell runs as its
//     child) and fds 0-2 are the command's as without the shim; the shim's
//     parameters are arguments, nothing of it is in the environment.
//   - With sockets, its child is the sockets shim (which sets LISTEN_PID to
//     its own PID and execs the command): the sockets are fds 3… of both,
//     the shim keeps its copies so an adopting daemon takes them back from
//     the PID it adopts.
//   - notify: the command is in the instance's session and group and a
//     descendant of its leader, which notify accepts as the instance.
//
// An adopted instance that exits (or one found gone at adoption) gets the
// exit of its record when the record is the shim's: at most 512 bytes, a
// regular file (not followed through a link), this PID, code 0-255 or a
// signal 1-64; anything else is logged and the exit is Unknown, as is a
// missing record (a shim killed by SIGKILL writes none). A record is
// removed once the daemon has the exit in hand: when it reaps a shim it
// started (its status is the command's), on the Release of an adopted
// instance, and when a daemon adopts, those no handle owns. The exits
// folder is made by the first start through the shim.
// The shim costs ~1 MiB of private memory while it waits and some
// milliseconds per start (docs/performance.md).
//
// # Init steps
//
// An instance with spec.initCommands starts as the init runner, which
// runs the steps and then execs or waits for the command; State.Init
// follows it, probes wait for the command, and a daemon restart
// adopts it mid-step. See init_linux.go.
//
// # Probes
//
// Start sets State.Probe (InitialProbeStatus: Started without a startup
// probe, Ready from the start without a startup or readiness probe) and,
// when the spec has probes, hands a probe worker for the instance to the
// Runtime's probe scheduler (runtime/probe: one goroutine for every
// instance's probes). It runs the startup probe alone until it succeeds,
// then readiness and liveness, each on its own period, with the
// Kubernetes semantics and defaults (initialDelaySeconds 0, periodSeconds
// 10, timeoutSeconds 1, successThreshold 1, failureThreshold 3; success
// threshold 1 for liveness and startup). The initial delay counts from the
// process start (a first run already due runs at once); then one run a
// period, from the schedule, not from the end of the last run. Every run
// happens on the first 100 ms tick of the clock at or after it is due
// (probeTick), the same ticks for every instance: runs due together wake
// the daemon once, which is most of what probing many instances costs on
// a host where a wake from idle costs more than a loopback probe. A run
// that was cancelled (Stop) counts for nothing.
//
// Results go through the thresholds (probeCounter, pure). A readiness
// transition flips Ready (and ReadySince); a readiness failure never ends
// anything. A liveness or startup probe reaching its failure threshold sets
// Failed (LivenessProbeFailed, StartupProbeFailed), clears Ready and ends
// all probing of the instance: the reconciler decides the restart, and the
// replacement is a new instance with a new worker. Every transition
// updates State.Probe under the Runtime's lock and sends one Event; a failure
// below the threshold only updates Message, without an Event. The worker
// never restarts, stops or signals the instance. Options.OnProbe sees
// every run. Stop, the instance's exit (which also clears Ready) and Detach
// end the worker (StopAll through Stop), under the lock, so no result is
// applied after them; StopAll and Detach wait for it.
//
// Runners, one per kind: httpGet connects to the probe's host or
// 127.0.0.1, the port by number or by name (the instance's ports, or a
// fixed port of the spec; an unknown name fails every run), without a
// proxy, without keep-alive, skipping TLS verification; 200-399 is
// success; redirects are followed to the same host only, a redirect to
// another host is a success with a logged warning; at most 10 KiB of the
// body and 64 KiB of the response header are read. It speaks HTTP/1.1
// itself: to an IP address over plain HTTP in the scheduler's goroutine
// (a non-blocking socket on its epoll set, no goroutine per run), else
// in a runner goroutine of the scheduler's pool: one dial, the request in
// one write, http.ReadResponse on the connection, one close; no net/http
// Transport and none of its goroutines.
// tcpSocket succeeds when a connection opens. exec runs the command
// ($(VAR)-expanded as the kubelet does) with the instance's environment,
// working dir and user, in a process group of its own, its output into a
// pipe read at most 10 KiB; exit 0 is success. At the timeout its group is
// SIGKILLed (the leader is not reaped until then, as for instances), and
// when it exits whatever it left in its group is killed too. The pipe is
// never waited on beyond 100 ms after that, so a grandchild that escaped
// the group holding stdout cannot hang the probe.
//
// # Notify
//
// A readiness or liveness probe may be notify (systemd's sd_notify): New
// binds one unixgram socket for every instance, <state-dir>/notify.sock,
// or the abstract @proclet-notify-<hash of the state dir> when that path
// is longer than a socket address takes (107 bytes); a daemon that
// follows on the state dir binds the same address (a stale socket file
// is replaced), so adopted instances go on notifying. An instance with a
// notify probe gets NOTIFY_SOCKET, and WATCHDOG_USEC (periodSeconds) with
// a notify liveness probe; every other instance gets neither (the
// daemon's own, under systemd, are removed, with WATCHDOG_PID). The
// sender of each datagram is known by SO_PASSCRED (the kernel's PID, not a
// claim): it must be of a registered instance's tree, found as the
// sampler finds a tree: the instance's group or session, or a descendant
// by its parents (32 at most), or the MAINPID it announced (itself in the
// tree when announced); and the instance's leader must still be the
// process started. Anything else is dropped, counted, and logged at most
// every 10 s. A datagram from a sender no instance claims is kept 2 s
// (64 at most) for an instance not registered yet: one that says READY=1
// right after its exec. Bounds: 4096 bytes a datagram (longer is dropped
// whole), a burst of 32 datagrams an instance, refilled at 16 a second.
// What a message does is runtime/probe's Notify: READY=1 makes the
// instance ready at once, STOPPING=1 and RELOADING=1 unready, STATUS= is
// its message; the watchdog is a liveness Loop. The socket is closed by
// StopAll and Detach.
//
// # Sampling
//
// A pass samples live instances in one pass over /proc that holds no
// lock during its reads (runtime/procfs), into State.Usage: the CPU time
// (a counter that never goes down, counting reaped children through
// cutime), RSS and listening TCP ports of the instance's process tree (its
// process group, plus descendants that left the group while their parent
// chain leads back into it). A sample sends no Event; OnSample is called
// once after each pass instead, passes one at a time.
//
// Only what a decision needs is sampled on a clock: Run samples the
// instances whose memory limit is polled (see Limits) once per
// Options.SampleInterval. Every other instance is sampled on demand
// (SampleStale, ondemand.go): a reader about to show usage (the server,
// before /metrics and the instance lists) asks, and the Runtime samples
// them all in one pass if their last pass began an interval ago or more;
// readers that ask meanwhile wait for that pass and share it. So a figure
// is at most an interval old when read, and an idle daemon nobody reads
// makes no pass at all: the periodic pass was most of its CPU (1000
// stat reads every 5 s). The two sets have a sampler each (an instance
// stays in its set for life), so each keeps its own CPU accounting and
// descriptors; an instance's CPUPercent spans the time since its previous
// sample, which for the on-demand set is the time between two reads that
// sampled (at least an interval).
//
// What a pass costs is mostly system calls, so it makes few: the sampler
// holds each tree process's /proc/<pid>/stat open between passes (one
// pread a pass; each sampler a quarter of what the descriptor limit
// leaves to the caches, fdroom_linux.go), reads a process
// outside every tree again only every 60th pass (5 min at 5 s) or when its /proc
// entry changes (a reused pid), lists /proc only from the pids allocated
// since the last pass (/proc/loadavg has the last one; every 60th pass
// lists all), takes the listening sockets from one sock_diag dump
// (/proc/net/tcp{,6} where that fails: a walk of every connection,
// milliseconds on a busy host), and reads a tree's fd links only when its
// processes changed, when a socket appeared and the tree's CPU time moved
// (or it is young), or every 60th pass. The sampler's doc comment says
// what this can miss, and for how long.
//
// # Limits
//
// resources.limits.openFiles is RLIMIT_NOFILE (see withOpenFiles). The
// memory limit is polled by default: each pass counts, in
// Usage.OverMemoryLimit, the consecutive samples with the tree's RSS above
// the limit; the runtime only counts, and the reconciler decides to stop
// the instance (MemoryLimitExceeded). With Options.CgroupRoot, a cgroup
// v2 folder delegated to the daemon (runtime/cgroup), each instance gets
// <root>/<app>/<instance>-<uid8>, made relative to its parent's descriptor
// without following links (never anything outside the root), with
// memory.max (the kernel enforces it: the sampler then does not count) and
// cpu.max where cgroup.controllers has them. The instance is born in it
// with CLONE_INTO_CGROUP, or moved in right after the start where that
// fails. A stop signals every process of the cgroup after the group; after
// the exit the waiter kills what is left in it, reports OOMKilled when
// memory.events counted an OOM kill, and removes it. LimitSupport says
// what is enforced, for the reconciler to report the rest.
package exec
