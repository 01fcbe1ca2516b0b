// Command proclet runs plain OS processes the way Kubernetes runs pods: a
// directory of manifests is the desired state, and the daemon converges the
// host to it. See README.md and docs/.
//
// This package owns the command line and the wiring, nothing else: the
// command tree (spf13/cobra and pflag: root.go, one constructor per
// command, each calling a function of its own that takes plain values, not
// flags), the shell completion of names from a running daemon
// (complete.go), the daemon's flags and their checks (daemon_flags.go; the
// node identity and the remote access rules: node.go), the state dir's lock
// (lock.go), building the runtime, reconciler, server and watcher and
// running them (daemon.go), systemd's notify protocol (sdnotify.go:
// READY=1 after the first full sync, STATUS=, STOPPING=1, and WATCHDOG=1
// fed by the reconciler's heartbeat), the shutdown policy of --on-exit and
// --shutdown-timeout (shutdown.go), the descriptor budget behind the API's
// connection caps (fdbudget.go), and the client commands (get, describe,
// logs, diff, rollout status, version; the Jobs' and CronJobs' views in
// get_jobs.go, describe_jobs.go, complete_jobs.go and logs_jobs.go) over
// server/client, their fan-out
// over many daemons (fleet*.go: --servers, at most --parallel asked at once,
// each within --host-timeout, one table with a NODE column; proclet fleet
// targets), plus validate, which
// decodes files offline, and rollout restart, which edits one manifest
// file (through internal/manifestedit) and never talks to the daemon.
//
// It must never hold supervision logic of its own: what runs, restarts or
// stops is the reconciler's decision and the runtime's doing; the daemon
// only starts them, passes each the others it reads (as explicit options:
// a component that loses a method fails to compile here) and tells them to
// stop. The client commands must never read the state dir: they ask the
// API, as any other client would.
package main
