package main

import (
	"context"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"proclet.dev/proclet/apis/v1alpha1"
)

// finish stops the chaos, fixes every file, waits for convergence and
// checks the invariants.
func (c *chaos) finish(ctx context.Context) error {
	for _, name := range c.fleet.fixAll() {
		a := c.fleet.apps[name]
		c.changes[kindFix]++
		c.logf("fix %s (final)", a.file)
		if err := writeManifest(c.manifests, a.file, c.fleet.manifest(a), false); err != nil {
			return err
		}
	}
	if err := c.checkDaemonAlive(ctx); err != nil {
		c.breach(invDaemon, err.Error())
		return nil
	}
	c.logf("chaos over; waiting up to %s for convergence", c.cfg.converge)
	last, st, err := c.awaitConvergence(ctx)
	if err != nil {
		return err
	}
	for _, inv := range slices.Sorted(maps.Keys(last)) {
		c.breach(inv, last[inv]...)
	}
	c.printState(st)
	c.stopGracefully(st)
	return nil
}

// awaitConvergence polls the API and /proc until every invariant but the
// logs' holds or the convergence window ends, and returns the last
// breaches by invariant and the last state read.
func (c *chaos) awaitConvergence(ctx context.Context) (last map[string][]string, st apiState, err error) {
	want := c.fleet.expectations()
	began := time.Now()
	deadline := began.Add(c.cfg.converge)
	for {
		st, err = c.api.state(ctx, c.d.base())
		last = map[string][]string{}
		if err != nil {
			last[invApps] = []string{"API: " + err.Error()}
		} else {
			c.tr.observe(st.instances, time.Now())
			procs, err := c.fs.scan(c.mark)
			if err != nil {
				return nil, st, err
			}
			last[invApps] = checkApps(want, st)
			last[invProcesses] = checkProcesses(st, procs)
			last[invPorts] = checkPorts(st, procs)
			last[invJobs] = checkJobsConverged(c.jobs, st.jobs, st.cronJobs)
			if len(last[invApps]) == 0 && !c.appsConverged {
				c.appsConverged, c.appsConvergedIn = true, time.Since(began)
			}
		}
		ok := true
		for _, b := range last {
			ok = ok && len(b) == 0
		}
		if ok {
			c.converged, c.convergedIn = true, time.Since(began)
			c.logf("converged in %s", c.convergedIn.Round(100*time.Millisecond))
			break
		}
		if time.Now().After(deadline) {
			c.logf("no convergence within %s", c.cfg.converge)
			break
		}
		if !pause(ctx, 500*time.Millisecond) {
			return nil, st, ctx.Err()
		}
	}
	return last, st, nil
}

// stopGracefully stops the daemon with SIGTERM, which must take every
// instance of st with it, kills what is left, then checks the logs.
func (c *chaos) stopGracefully(st apiState) {
	stoppedAt := time.Now()
	if err := c.d.stop(60 * time.Second); err != nil {
		c.breach(invDaemon, "SIGTERM: "+err.Error())
	} else if s := c.d.exitStatus(); s != "exit status 0" {
		c.breach(invDaemon, "after SIGTERM the daemon ended with "+s)
	}
	for _, i := range st.instances {
		if live(i) {
			if _, ok := c.tr.current(i.PID, i.UID, 0); ok {
				c.breach(invDaemon, fmt.Sprintf("%s/%s pid %d still runs after the daemon stopped gracefully", i.App, i.Name, i.PID))
			}
		}
	}
	c.logf("daemon stopped")
	left := c.tr.cleanup(10 * time.Second)
	for _, p := range left {
		c.breach(invDaemon, "cannot kill "+p.String())
	}
	c.checkLogs(st.instances, stoppedAt)
	c.checkDaemonLog()
	c.checkJobRuns(st)
}

// checkJobRuns is invariant 5 over every process start of the Jobs and
// CronJobs, once none starts any more.
func (c *chaos) checkJobRuns(st apiState) {
	marks, err := readMarks(c.marks)
	if err != nil {
		c.breach(invJobs, err.Error())
		return
	}
	c.jobStarts = len(marks)
	names := map[string]bool{}
	for _, j := range st.jobs {
		names[j.Metadata.Name] = true
	}
	for _, cj := range st.cronJobs {
		names[cj.Metadata.Name] = true
		forbid := cj.Spec.ConcurrencyPolicy == v1alpha1.ForbidConcurrent
		c.breach(invJobs, checkCronRuns(cj, forbid, marks, st.readAt)...)
	}
	c.breach(invJobs, checkRunsOnce(marks, c.killed, names)...)
}

// printState shows the end state the checks saw: per app, its replicas,
// revision and instances.
func (c *chaos) printState(st apiState) {
	insts := map[string][]string{}
	for _, i := range st.instances {
		insts[i.App] = append(insts[i.App], fmt.Sprintf("%s pid %d", i.Name, i.PID))
	}
	for _, a := range st.apps {
		if a.Status == nil {
			continue
		}
		l := insts[a.Metadata.Name]
		slices.Sort(l)
		c.logf("  %s: %d/%d ready at revision %s (generation %d): %s", a.Metadata.Name, a.Status.ReadyReplicas,
			a.Status.Replicas, a.Status.Revision, a.Status.ObservedGeneration, strings.Join(l, ", "))
	}
}

// checkDaemonLog counts the daemons' warnings and errors for the summary;
// a panic is a breach.
func (c *chaos) checkDaemonLog() {
	f, err := os.Open(c.d.logPath)
	if err != nil {
		c.breach(invDaemon, err.Error())
		return
	}
	defer f.Close()
	st, err := scanDaemonLog(f)
	if err != nil {
		c.breach(invDaemon, err.Error())
	}
	c.daemonLog = st
	for _, l := range st.crashes {
		c.breach(invDaemon, "the daemon crashed: "+l)
	}
}

// checkLogs is invariant 4 over every app this run ever had, once no
// process writes any more. Beyond each file set's own check: every process
// an API reported running for 2 s or more has lines in its instance's log,
// and the last instances' logs run up to about when they were stopped.
func (c *chaos) checkLogs(last []v1alpha1.Instance, stoppedAt time.Time) {
	reports := map[string]logReport{}
	for _, app := range slices.Sorted(maps.Keys(c.everApps)) {
		dir := filepath.Join(c.stateDir, "logs", app)
		if _, err := os.Stat(dir); err != nil {
			continue // never started
		}
		insts, err := instancesWithLogs(dir, "stdout")
		if err != nil {
			c.breach(invLogs, err.Error())
			continue
		}
		for _, inst := range insts {
			files, err := logSet(dir, inst, "stdout")
			if err != nil {
				c.breach(invLogs, err.Error())
				continue
			}
			lines, err := readLogSet(files)
			if err != nil {
				c.breach(invLogs, err.Error())
				continue
			}
			rep := checkLogLines(inst, lines)
			reports[app+"/"+inst] = rep
			c.logLines += rep.lines
			c.logRuns += len(rep.runs)
			c.cutTails += rep.cutTails
			c.logReplays += rep.replays
			for _, b := range rep.breaches {
				c.breach(invLogs, fmt.Sprintf("%s/%s: %s", app, inst, b))
			}
		}
		errInsts, _ := instancesWithLogs(dir, "stderr")
		for _, inst := range errInsts {
			lines, err := stderrLines(dir, inst)
			if err != nil {
				c.breach(invLogs, err.Error())
			}
			for _, l := range lines {
				c.breach(invPorts, fmt.Sprintf("%s/%s wrote to stderr: %s", app, inst, l))
			}
		}
	}
	for _, s := range c.tr.sightings() {
		if s.last.Sub(s.first) < 2*time.Second {
			continue
		}
		if newestRun(reports[s.app+"/"+s.instance], s.pids()...) == nil {
			c.breach(invLogs, fmt.Sprintf("%s/%s pid %d ran for %s (per the API), not one line of it in the log",
				s.app, s.instance, s.pid, s.last.Sub(s.first).Round(time.Second)))
		}
	}
	for _, i := range last {
		if !live(i) {
			continue
		}
		pids := []int{i.PID}
		if s := c.tr.sighting(i.PID, i.UID); s != nil {
			pids = s.pids()
		}
		r := newestRun(reports[i.App+"/"+i.Name], pids...)
		if r == nil {
			c.breach(invLogs, fmt.Sprintf("%s/%s pid %d (running at the end): not one line in the log", i.App, i.Name, i.PID))
			continue
		}
		printed := int(stoppedAt.UnixMilli()-r.startMs) * c.cfg.rate / 1000
		if slack := 10 * c.cfg.rate; r.max < printed-slack {
			c.breach(invLogs, fmt.Sprintf("%s/%s pid %d (running at the end) printed about %d lines by the stop, its log ends at seq %d: its output stopped reaching the log",
				i.App, i.Name, i.PID, printed, r.max))
		}
	}
}

// newestRun is the run of pid in rep that started last, or nil.
func newestRun(rep logReport, pids ...int) *run {
	var best *run
	for _, r := range rep.runs {
		if slices.Contains(pids, r.pid) && (best == nil || r.startMs > best.startMs) {
			best = r
		}
	}
	return best
}
