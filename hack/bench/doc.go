// Command bench measures proclet side by side with PM2, supervisord, s6
// and runit, and with the physical floor (a plain fork/exec loop, and the
// raw inotify latency), on this machine, in one run: the scenarios of
// docs/performance.md at N = 10, 100, 1000 and 5000 instances of the same
// workload (bin/workload), one supervisor after the other. Above 1000 a
// size is cut to fit make bench's 30 minutes (large.go), and the host's
// limits are checked first (host.go): kernel.pid_max is raised for the
// run when the workloads' threads would not fit, RLIMIT_NOFILE when it
// may be, and a supervisor that cannot hold N (runit's 1000 services, the
// daemon's descriptors) is not measured there, with the reason.
//
//	go run ./hack/bench [-quick] [-sizes 10,100,1000,5000] [-peers proclet,pm2,supervisord,s6,runit] [-only output]
//
// `make bench` builds and runs it after the Go benchmarks. It installs
// the peers it lacks (PM2 with npm under the results folder, the others
// with apt-get), starts each one itself, as root, on its own configuration
// in a temporary folder, and never uses a system-wide instance.
//
// The probe scenario (proclet's, scenarios_proclet.go) has a floor of
// its own, measured beside the daemon over the same window once every
// instance is ready: the bench binary run again as a bare prober
// (probefloor.go) doing the same httpGet probes of the same instances,
// the same request, 100 a second at N = 1000, on the same 100 ms ticks;
// the daemon's row gets its ratio to it. Both CPU figures are from the
// threads' schedstat (ns): at a few ticks' worth of CPU in make bench
// QUICK=1's 5 s window, the 10 ms ticks would be the figure's noise. So
// is every supervisor's steady CPU (the threads of its processes at the
// window's start; the ticks' figure is in the row's note): an idle daemon
// at 1000 instances used less than one 10 ms tick in 30 s, which the
// ticks gave as 0.
//
// A crash restart has a floor of its own, measured between the kills of
// every supervisor at every N (restartfloor.go): a bare Go loop in the
// harness that SIGKILLs one workload, waits for its death and reaps it,
// and starts the next, timed from before the kill to the new start stamp,
// as the supervisor's restart is. The floor column of the restart row is
// its median at each N (restart_ms), each supervisor's "÷ floor" uses the
// rounds taken between its own kills, and the restart target and the
// growth plot's restart panel show it.
//
// How it observes: every workload writes, first thing, a start stamp file
// named <instance>.<pid> (--mark-start), read through inotify, and carries
// a last argument "<run>/<phase>/<app>" by which /proc is scanned for live
// ones; exits are seen with a pidfd per process. Times are from the
// harness's clock before it acts to the workload's own stamp. Supervisor
// CPU is utime+stime from /proc of the supervisor's processes (the
// workloads left out), RSS their summed VmRSS.
//
// It prints one table and writes results.json, results.csv, table.md,
// converge.png and growth.png (the figures that grow with N, log-log)
// under <out>/<timestamp>/. Every process it starts carries
// PROCLET_BENCH_RUN in its environment: on the way out (also on SIGINT or
// SIGTERM, and at the next run after a SIGKILL) it stops what it started,
// by process group, then kills by PID whatever still carries the mark.
//
// It owns the comparison with the peers and the performance targets'
// table (docs/performance.md); the Go benchmarks of the hot paths live
// beside the code they measure. It must never touch a supervisor, a
// process or a file it did not start or make itself (a system-wide PM2 or
// supervisord stays as it is), never kill by name, and never report a
// figure as an absolute claim: each is beside the floor and the peers
// measured in the same run.
package main
