package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// runEnv marks every process the harness starts, and everything those
// start in turn (the supervisors pass their environment on): the sweep
// finds them by it in /proc/<pid>/environ, whoever their parent is now.
const runEnv = "PROCLET_BENCH_RUN"

// reaper owns every process the harness spawns: one goroutine per child
// waits for it, and cleanup signals the ones still running by process
// group, then kills whatever carries the run's mark in its environment.
type reaper struct {
	run string // this run's mark: bench-<harness pid>-<unix nanos>

	mu    sync.Mutex // guards procs
	procs []*child
}

// child is one process the harness started.
type child struct {
	cmd  *exec.Cmd
	done chan struct{} // closed once Wait returned
	err  error         // Wait's result, set before done closes
}

func newReaper() *reaper {
	return &reaper{run: fmt.Sprintf("bench-%d-%d", os.Getpid(), time.Now().UnixNano())}
}

// mark is the environment entry of phase: "PROCLET_BENCH_RUN=<run>/<phase>".
func (r *reaper) mark(phase string) string { return runEnv + "=" + r.run + "/" + phase }

// start starts cmd in its own process group (or its own session, and so
// its own group, when the caller sets Setsid) with phase's mark in its
// environment, and waits for it in the background.
func (r *reaper) start(phase string, cmd *exec.Cmd, extraEnv ...string) (*child, error) {
	if cmd.Env == nil {
		cmd.Env = os.Environ()
	}
	cmd.Env = append(append(cmd.Env, r.mark(phase)), extraEnv...)
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	if !cmd.SysProcAttr.Setsid { // setpgid after setsid would fail (EPERM)
		cmd.SysProcAttr.Setpgid = true
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	c := &child{cmd: cmd, done: make(chan struct{})}
	r.mu.Lock()
	r.procs = append(r.procs, c)
	r.mu.Unlock()
	go func() {
		c.err = cmd.Wait()
		close(c.done)
	}()
	return c, nil
}

// run runs a short command to completion (a supervisor's control
// program), within timeout; its output goes to log.
func (r *reaper) runCmd(ctx context.Context, phase string, timeout time.Duration, log io.Writer, env []string, argv ...string) error {
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdout, cmd.Stderr = log, log
	c, err := r.start(phase, cmd, env...)
	if err != nil {
		return fmt.Errorf("%s: %w", argv[0], err)
	}
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-c.done:
		if c.err != nil {
			return fmt.Errorf("%s: %w", strings.Join(argv[:min(len(argv), 3)], " "), c.err)
		}
		return nil
	case <-t.C:
		c.kill(syscall.SIGKILL)
		<-c.done
		return fmt.Errorf("%s: %w", argv[0], errTimeout)
	case <-ctx.Done():
		c.kill(syscall.SIGKILL)
		<-c.done
		return ctx.Err()
	}
}

// kill signals c's process group while c has not been waited for (so its
// PID cannot have been reused).
func (c *child) kill(sig syscall.Signal) {
	select {
	case <-c.done:
	default:
		_ = syscall.Kill(-c.cmd.Process.Pid, sig)
	}
}

// stop sends SIGTERM to c's group, then SIGKILL after grace.
func (c *child) stop(grace time.Duration) {
	c.kill(syscall.SIGTERM)
	t := time.NewTimer(grace)
	defer t.Stop()
	select {
	case <-c.done:
	case <-t.C:
		c.kill(syscall.SIGKILL)
		<-c.done
	}
}

// sweep kills, by PID, every process whose environment carries the mark
// of phase (or of the whole run when phase is ""), until none is left or
// 5 s have passed. It returns how many it killed.
func (r *reaper) sweep(phase string) int {
	kv, prefix := r.mark(phase), false
	if phase == "" {
		kv, prefix = runEnv+"="+r.run+"/", true
	}
	return sweepEnv(kv, prefix)
}

func sweepEnv(kv string, prefix bool) int {
	killed := map[int]bool{}
	self := os.Getpid()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); {
		found := false
		for _, pid := range allPIDs() {
			if pid != self && alive(pid) && environHas(pid, kv, prefix) {
				_ = syscall.Kill(pid, syscall.SIGKILL)
				killed[pid], found = true, true
			}
		}
		if !found {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	return len(killed)
}

// sweepStale kills what an earlier run left behind when it was killed
// itself (SIGKILL cannot be caught): processes whose mark names a harness
// PID that no longer runs a bench. It returns what it killed, as
// "comm (mark)" strings.
func sweepStale() []string {
	var killed []string
	self := os.Getpid()
	for _, pid := range allPIDs() {
		if pid == self {
			continue
		}
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/environ", pid))
		if err != nil {
			continue
		}
		for e := range strings.SplitSeq(string(b), "\x00") {
			v, ok := strings.CutPrefix(e, runEnv+"=bench-")
			if !ok {
				continue
			}
			owner, _ := strconv.Atoi(strings.SplitN(v, "-", 2)[0])
			if owner == self || (owner > 0 && alive(owner) && strings.Contains(cmdline(owner), "bench")) {
				break
			}
			if alive(pid) {
				comm, _ := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid))
				_ = syscall.Kill(pid, syscall.SIGKILL)
				killed = append(killed, fmt.Sprintf("%s (%s)", strings.TrimSpace(string(comm)), v))
			}
			break
		}
	}
	return killed
}

// cleanup stops every child still running (SIGTERM to its group, SIGKILL
// after a second), then sweeps the whole run.
func (r *reaper) cleanup() int {
	r.mu.Lock()
	procs := append([]*child(nil), r.procs...)
	r.mu.Unlock()
	var wg sync.WaitGroup
	for _, c := range procs {
		wg.Go(func() { c.stop(time.Second) })
	}
	wg.Wait()
	return r.sweep("")
}
