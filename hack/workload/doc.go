// Command workload is the test workload of proclet: one small program that
// can serve HTTP, exit, hang, fork, allocate and print on demand, so tests
// and example manifests exercise the daemon against a real process.
//
// With no flags it sleeps until SIGTERM (or SIGINT) and then exits 0.
//
//	--port N|HOST:N       serve HTTP on N, on every address or only HOST's (default: $PORT;
//	                        no server when neither is set)
//	                        GET /healthz  200 "ok" (503 before --ready-after, 500 after --healthz-fail-after)
//	                        GET /         200 "instance=<PROCLET_INSTANCE> pid=<pid>"
//	--exit-after D        exit after D (0: at once); the exit code is --exit-code
//	--exit-code N         exit code used by --exit-after (default 0)
//	--ignore-sigterm      do not exit on SIGTERM (children inherit the flag)
//	--children N          start N copies of itself that only sleep, in the same process group
//	--grandchildren       each child also starts a sleeping grandchild
//	--setsid-child        start one more sleeping child in its own session (escapes the group)
//	--alloc SIZE          allocate and touch SIZE bytes (64Mi, 1G, 4096)
//	--alloc-step SIZE     reach --alloc in steps of SIZE, one every --alloc-interval (default 1s)
//	--stdout-rate N       print N lines a second to stdout: "<instance> stdout <seq>", seq from 1
//	--stderr-rate N       the same on stderr: "<instance> stderr <seq>"
//	--lines N             stop each stream after N lines (the process keeps running)
//	--line-id             lines carry a token unique to this run of the process:
//	                        "<instance> <pid>.<start ms> stdout <seq>" (hack/chaos checks
//	                        each run's lines by it, even when a pid is reused)
//	--line-size BYTES     pad each line with 'x' to BYTES, newline included
//	--flood SIZE          write SIZE bytes to stdout as fast as the pipe takes them, in
//	                        writes of --flood-write bytes, then "flood done" on stderr
//	--flood-line BYTES    a newline every BYTES of the flood (default 0: none at all)
//	--flood-write BYTES   the size of each write of the flood (default 65536)
//	--flood-rate SIZE     pace the flood at SIZE bytes a second (default 0: full speed)
//	--flood-exit          exit 0 once the flood is written
//	--print-env           print the environment once, sorted, one VAR=value a line
//	--print-rlimit        print "rlimit nofile soft=S hard=H" once
//	--announce            print "ready pid=<pid>" on stderr once signals are handled
//	--mark-start DIR      first thing: write DIR/<instance>.<pid> holding the start time
//	                        in Unix nanoseconds (benchmarks measure exec latency with it)
//	--ready-after D       /healthz answers 503 until D after start
//	--healthz-fail-after D  /healthz answers 500 from D after start on
//	--notify-ready-after D  send READY=1 to $NOTIFY_SOCKET D after start (sd_notify; default
//	                        -1: never); each message goes in a datagram from a socket of its own
//	--notify-status S     send STATUS=S at start, and with READY=1
//	--notify-status-every D  send "STATUS=tick <n>" every D, n from 1
//	--notify-watchdog     send WATCHDOG=1 every $WATCHDOG_USEC/2
//	--notify-watchdog-stop-after D  stop those pings D after start
//	--notify-trigger-after D  send WATCHDOG=trigger D after start
//	--notify-size BYTES   pad every message to BYTES with a STATUS= of zeros
//	--notify-flood N      send N messages "STATUS=flood <n>" at start, as fast as it can
//
// Every child it starts prints "child pid=<pid>" on stdout. <instance> is
// $PROCLET_INSTANCE, or "workload" when unset.
//
// It owns nothing of proclet's: it is a process to supervise, and knows
// only the environment the daemon gives it (PROCLET_INSTANCE, PORT). It must
// never import proclet's packages, so that what it does is what any
// program could do, and it must stay static and small (CGO_ENABLED=0 in
// the Makefile): the benchmarks charge each exec of it to the supervisor.
package main
