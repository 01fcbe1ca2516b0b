// Package probe runs an instance's startup, readiness and liveness probes:
// the Worker (an instance's probes and how their results change its
// status), the Scheduler that runs every worker's probes, the kubelet's
// thresholds (counter.go), and the httpGet and tcpSocket runners; an exec
// runner, which starts a process in the instance's environment, is
// runtime/exec's, behind the same Runner interface. Notify (notify.go) is
// the sd_notify-driven state of an instance: it parses and applies what
// the instance sent (runtime/exec owns the socket and says who sent it),
// readiness at once, liveness as a Loop whose runner is its watchdog.
//
// # Scheduling
//
// One Scheduler (sched.go) runs the probes of all of a runtime's
// instances from one goroutine, which lives while any instance is
// probed: a heap of loops by their next run. Runs happen on 100 ms ticks
// of the clock (probeTick), so that the runs of many instances that are
// due together cost one wake; the period counts from the last scheduled
// run, so instances started one after another keep their spread.
//
// A due run of an httpGet (http, not https) or tcpSocket probe of an IP
// address is done by the poller (poll_linux.go, poll_read_linux.go), in
// the scheduler's goroutine: a non-blocking socket, connect, the request
// (built once per probe) written at once (on loopback the handshake is
// over when connect returns; EAGAIN waits for EPOLLOUT), the response read
// into a reused buffer on EPOLLIN, close: five to six system calls and no
// allocation for a healthy target. None of those calls blocks, and they
// are raw (rawsys_linux.go): they do not enter the runtime's syscall
// state, whose first use after the daemon idled wakes the runtime's
// sysmon thread into a polling spell. The epoll set is an os.File in Go's
// netpoller, so the goroutine sleeps there, its deadline the next due run
// or the first timeout of a run in flight; an eventfd wakes it. A run in
// flight is a socket, not a goroutine: a thousand silent targets cost a
// thousand sockets and nothing else.
//
// The poller parses a final HTTP/1.x response framed by Content-Length or
// the close (httpparse.go) and reads at most 64 KiB of header and 10 KiB
// of body. Anything else (chunked, 1xx, a bare-LF or malformed header)
// goes to the full client (http.go, httpmin.go, net/http's parser), which
// asks again within what is left of the timeout: its messages, and the
// poller's, are the same as a run through the full client alone
// (TestPoller_SameResultsAsTheFullClient). A redirect to follow is
// followed by the full client from the poller's response.
//
// Other runs (exec, https, a host name, the notify watchdog) go to a pool
// of at most 64 runner goroutines (pool.go), started on demand and ended
// after 30 s idle; beyond 64 a due run waits for a free runner.
//
// Results reach the instance through Worker.Update only when they change
// something: a run that changes no outcome and no message (the steady
// state) costs OnProbe (the metrics) and no lock of the runtime, no event
// and no reconcile.
//
// It reports through Worker.Update only: it must never restart, stop or
// signal anything (a liveness failure is recorded as ProbeStatus.Failed;
// the reconciler decides), never hold its owner's lock across a probe run,
// and never import runtime/exec.
package probe
