// Command bench measures proclet side by side with PM2, supervisord, s6
// and runit, and with the physical floor (a plain fork/exec loop, and the
// raw inotify latency), on this machine, in one run: the scenarios of
// docs/performance.md at N = 10, 100 and 1000 instances of the same workload
// (bin/workload), one supervisor after the other.
//
//	go run ./hack/bench [-quick] [-sizes 10,100,1000] [-peers proclet,pm2,supervisord,s6,runit] [-only output]
//
// `make bench` builds and runs it after the Go benchmarks. It installs
// the peers it lacks (PM2 with npm under the results folder, the others
// with apt-get), starts each one itself, as root, on its own configuration
// in a temporary folder, and never uses a system-wide instance.
//
// How it observes: every workload writes, first thing, a start stamp file
// named <instance>.<pid> (--mark-start), read through inotify, and carries
// a last argument "<run>/<phase>/<app>" by which /proc is scanned for live
// ones; exits are seen with a pidfd per process. Times are from the
// harness's clock before it acts to the workload's own stamp. Supervisor
// CPU is utime+stime from /proc of the supervisor's processes (the
// workloads left out), RSS their summed VmRSS.
//
// It prints one table and writes results.json, results.csv, table.md and
// converge.png under <out>/<timestamp>/. Every process it starts carries
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
