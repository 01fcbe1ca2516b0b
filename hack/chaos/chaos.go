package main

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"proclet.dev/proclet/apis/v1alpha1"
)

// chaos is one run: the model, the daemon, what was done and what broke.
type chaos struct {
	cfg       config
	out       io.Writer
	manifests string
	stateDir  string

	fleet *fleet
	jobs  *jobFleet  // the Jobs and CronJobs
	marks string     // where their processes mark their starts
	mrand *rand.Rand // manifest changes: a seed replays the same sequence
	krand *rand.Rand // kills and timing

	d    *daemonRunner
	api  *apiClient
	fs   procFS
	mark marker
	tr   *tracker

	start     time.Time
	everApps  map[string]bool
	instances []v1alpha1.Instance // the last answer of the API
	killed    map[int][]time.Time // the instance kills by pid: a Job's retries

	daemonKills, daemonRestarts, instanceKills, apiErrors int
	changes                                               map[string]int
	logLines, logRuns, cutTails, logReplays, jobStarts    int
	converged, appsConverged                              bool
	convergedIn, appsConvergedIn                          time.Duration
	daemonLog                                             daemonLogStats
	breaches                                              map[string][]string // by invariant
}

// Invariant names, as the summary prints them.
const (
	invApps      = "1 apps: replicas, newest revision, ready"
	invProcesses = "2 processes: no orphan, no duplicate"
	invPorts     = "3 ports: none held twice"
	invLogs      = "4 logs: every line once"
	invDaemon    = "daemon: restarts and stops"
	invJobs      = "5 jobs: once per revision and slot, Forbid alone"
)

func (c *chaos) logf(format string, args ...any) {
	fmt.Fprintf(c.out, "[%6.1fs] %s\n", time.Since(c.start).Seconds(), fmt.Sprintf(format, args...))
}

func (c *chaos) breach(inv string, msgs ...string) {
	c.breaches[inv] = append(c.breaches[inv], msgs...)
}

func (c *chaos) breachCount() int {
	n := 0
	for _, b := range c.breaches {
		n += len(b)
	}
	return n
}

// pause waits d, or less when ctx ends; it reports whether ctx is alive.
func pause(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// run is the whole test. It returns an error only when the test itself
// could not run (setup, ^C); breaches are in c.breaches.
func (c *chaos) run(ctx context.Context) error {
	c.start = time.Now()
	// The initial fleet: three apps.
	for range 3 {
		name := c.fleet.add(c.mrand, c.mrand.IntN(1<<30))
		c.everApps[name] = true
		a := c.fleet.apps[name]
		if err := writeManifest(c.manifests, a.file, c.fleet.manifest(a), false); err != nil {
			return err
		}
		c.logf("add %s: %d replicas, ports %v (%s)", name, a.replicas, a.ports, a.file)
	}
	for _, j := range c.jobs.initial() {
		c.everApps[j.name] = true
		if err := writeManifest(c.manifests, j.file, c.jobs.manifest(j), false); err != nil {
			return err
		}
		c.logf("add %s (%s)", j.name, j.file)
	}
	if err := c.d.start(ctx, 30*time.Second); err != nil {
		return err
	}
	c.logf("daemon pid %d serving %s", c.d.cur.pid, c.d.base())

	end := c.start.Add(time.Duration(c.cfg.minutes * float64(time.Minute)))
	nextDaemonKill := time.Now().Add(c.daemonKillDelay())
	for time.Now().Before(end) {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if time.Now().After(nextDaemonKill) {
			if err := c.killDaemon(ctx); err != nil {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				c.breach(invDaemon, err.Error())
				c.logf("giving up: %v", err)
				return nil
			}
			nextDaemonKill = time.Now().Add(c.daemonKillDelay())
			continue
		}
		if err := c.checkDaemonAlive(ctx); err != nil {
			c.breach(invDaemon, err.Error())
			c.logf("giving up: %v", err)
			return nil
		}
		c.refresh(ctx)
		if c.krand.IntN(100) < c.cfg.killPercent {
			c.killInstance()
		} else if err := c.changeManifests(); err != nil {
			return err
		}
		if !pause(ctx, time.Duration(200+c.krand.IntN(1000))*time.Millisecond) {
			return ctx.Err()
		}
	}
	return c.finish(ctx)
}

// daemonKillDelay is the time until the next kill -9 of the daemon: the
// configured mean, give or take half.
func (c *chaos) daemonKillDelay() time.Duration {
	mean := c.cfg.daemonKillEvery
	return mean/2 + time.Duration(c.krand.Int64N(int64(mean)))
}

// refresh reads the instances from the API and records them.
func (c *chaos) refresh(ctx context.Context) {
	insts, err := c.api.instances(ctx, c.d.base())
	if err != nil {
		c.apiErrors++
		return
	}
	c.instances = insts
	c.tr.observe(insts, time.Now())
}

// killInstance SIGKILLs one live instance of the last API answer, chosen
// at random, after checking in /proc that the pid still is that instance.
func (c *chaos) killInstance() {
	var candidates []v1alpha1.Instance
	for _, i := range c.instances {
		if live(i) {
			candidates = append(candidates, i)
		}
	}
	if len(candidates) == 0 {
		return
	}
	slices.SortFunc(candidates, func(a, b v1alpha1.Instance) int { return strings.Compare(a.UID, b.UID) })
	i := candidates[c.krand.IntN(len(candidates))]
	kids := c.tr.children(i.PID, i.UID) // a waiting shim's command dies with it (its group)
	if c.tr.kill(i.PID, i.UID) {
		for _, pid := range append([]int{i.PID}, kids...) {
			c.killed[pid] = append(c.killed[pid], time.Now())
		}
		c.instanceKills++
		c.logf("kill -9 %s/%s pid %d", i.App, i.Name, i.PID)
	}
}

// changeManifests applies the next change of the model to the directory:
// one in eight is a Job's or CronJob's.
func (c *chaos) changeManifests() error {
	if c.mrand.IntN(8) == 0 {
		return c.changeJobs()
	}
	ch, ok := c.fleet.plan(c.mrand)
	inPlace := c.mrand.IntN(5) == 0
	if !ok {
		return nil
	}
	c.changes[ch.kind]++
	if ch.kind == kindRemove {
		c.logf("remove %s", ch.app)
		return removeManifest(c.manifests, ch.file)
	}
	a := c.fleet.apps[ch.app]
	c.everApps[a.name] = true
	switch ch.kind {
	case kindAdd:
		c.logf("add %s: %d replicas, ports %v (%s)", a.name, a.replicas, a.ports, a.file)
	case kindScale:
		c.logf("scale %s to %d", a.name, a.replicas)
	case kindRoll:
		c.logf("roll %s to --exit-code %d", a.name, a.rev%256)
	case kindRelabel:
		c.logf("relabel %s", a.name)
	case kindBreak:
		c.logf("break %s (%s)", a.file, a.broken)
	case kindFix:
		c.logf("fix %s", a.file)
	}
	return writeManifest(c.manifests, a.file, c.fleet.manifest(a), inPlace)
}

// checkDaemonAlive restarts a daemon that exited without being killed,
// which is a breach in itself.
func (c *chaos) checkDaemonAlive(ctx context.Context) error {
	if c.d.running() {
		return nil
	}
	c.breach(invDaemon, fmt.Sprintf("daemon pid %d exited by itself (%s):\n%s", c.d.cur.pid, c.d.exitStatus(), c.d.logTail(0, 15)))
	c.logf("the daemon exited by itself; starting another")
	if err := c.d.start(ctx, 30*time.Second); err != nil {
		return fmt.Errorf("the daemon did not come back after exiting by itself: %w", err)
	}
	return nil
}

// killDaemon is kill -9 of the daemon, a short downtime during which the
// manifests may change, and a new daemon on the same state dir.
func (c *chaos) killDaemon(ctx context.Context) error {
	pid := c.d.cur.pid
	if err := c.d.kill(10 * time.Second); err != nil {
		return err
	}
	c.daemonKills++
	down := time.Duration(c.krand.IntN(2000)) * time.Millisecond
	c.logf("kill -9 daemon pid %d; down for %s", pid, down)
	changes := c.krand.IntN(3)
	for i := range changes + 1 {
		if !pause(ctx, down/time.Duration(changes+1)) {
			return ctx.Err()
		}
		if i < changes {
			if err := c.changeManifests(); err != nil {
				return err
			}
		}
	}
	if err := c.d.start(ctx, 30*time.Second); err != nil {
		return fmt.Errorf("the daemon did not come back after kill %d: %w", c.daemonKills, err)
	}
	c.daemonRestarts++
	c.logf("daemon pid %d serving %s", c.d.cur.pid, c.d.base())
	return nil
}

// changeJobs applies the next change of the Jobs and CronJobs.
func (c *chaos) changeJobs() error {
	ch, ok := c.jobs.plan(c.mrand)
	if !ok {
		return nil
	}
	c.changes[ch.kind]++
	c.logf("%s job %s", ch.kind, ch.app)
	if ch.kind == kindRemove {
		return removeManifest(c.manifests, ch.file)
	}
	j := c.jobs.jobs[ch.app]
	c.everApps[j.name] = true
	return writeManifest(c.manifests, j.file, c.jobs.manifest(j), false)
}
