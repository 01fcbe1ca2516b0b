// Command fleetbench measures the fan-out of the fleet commands: it starts
// the largest of -sizes real daemons on loopback, each on a manifests
// folder of -apps apps of one sleeping instance, then times `proclet get
// apps --servers` (-reps runs, the median, the fastest and the slowest)
// against the first 10, 50, 100 ... of them, and stops every daemon and
// instance it started (SIGTERM, then SIGKILL of each process group).
//
//	go build -o /tmp/fleetbench ./hack/fleetbench && /tmp/fleetbench -bin bin -sizes 10,50,100
//
// docs/fleet.md gives its figures. It owns nothing but its temp folder.
package main
