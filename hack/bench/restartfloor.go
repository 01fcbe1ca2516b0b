package main

import (
	"context"
	"fmt"
	"os/exec"
	"syscall"
	"time"
)

// restartLoop is the floor of a crash restart: a bare Go loop in the
// harness that keeps one workload running (started as floorRun starts
// them, in its own session), and on each round SIGKILLs it, waits for its
// death and reaps it (os.Process.Wait, in the reaper), then starts the
// next one, timed from before the kill to the new process's start stamp:
// the death of the killed process plus one exec, timed the way
// crashRestarts times a supervisor.
type restartLoop struct {
	b   *bench
	ph  *phase
	a   app
	cur *child
	pid int
}

// newRestartLoop starts the loop's first workload and waits for its stamp.
func (b *bench) newRestartLoop(ctx context.Context, label string) (*restartLoop, error) {
	ph, err := b.newPhase("restart-floor-" + label)
	if err != nil {
		return nil, err
	}
	l := &restartLoop{b: b, ph: ph, a: ph.app("a0")}
	t := time.Now()
	if err := l.exec(); err != nil {
		l.close()
		return nil, err
	}
	if _, err := l.stamp(ctx, t, 0); err != nil {
		l.close()
		return nil, err
	}
	return l, nil
}

// exec starts the next workload.
func (l *restartLoop) exec() error {
	cmd := exec.Command(l.a.argv[0], l.a.argv[1:]...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	c, err := l.b.r.start(l.ph.name, cmd, "PROCLET_INSTANCE="+l.a.inst)
	if err != nil {
		return err
	}
	l.cur, l.pid = c, c.cmd.Process.Pid
	return nil
}

// stamp waits for the start stamp after t of a process other than notPID.
func (l *restartLoop) stamp(ctx context.Context, t time.Time, notPID int) (time.Time, error) {
	var next start
	err := l.ph.marks.wait(ctx, 10*time.Second, func(by map[string][]start) bool {
		var ok bool
		next, ok = firstAfter(by[l.a.inst], t, notPID)
		return ok
	})
	if err != nil {
		return time.Time{}, fmt.Errorf("%s: no start stamp: %w", l.ph.name, err)
	}
	return next.at, nil
}

// round is one kill -9 → new start stamp.
func (l *restartLoop) round(ctx context.Context) (time.Duration, error) {
	old := l.pid
	t := time.Now()
	l.cur.kill(syscall.SIGKILL)
	select {
	case <-l.cur.done:
	case <-ctx.Done():
		return 0, ctx.Err()
	}
	if err := l.exec(); err != nil {
		return 0, err
	}
	at, err := l.stamp(ctx, t, old)
	if err != nil {
		return 0, err
	}
	return at.Sub(t), nil
}

// close kills the running workload, waits for it, and closes the phase
// (which sweeps whatever carries its mark).
func (l *restartLoop) close() {
	if l.cur != nil {
		l.cur.kill(syscall.SIGKILL)
		<-l.cur.done
	}
	l.ph.close()
}

// recordRestartFloor records the restart floor measured beside peer's
// kills at n: on peer's row (its "÷ floor"), and in the floor's column,
// the median of every restart floor round at n and of the whole run.
func (b *bench) recordRestartFloor(peer string, n int, lat []float64) {
	if len(lat) == 0 {
		return
	}
	note := fmt.Sprintf("%d rounds, each just before a kill of %s", len(lat), peer)
	b.res.set(peer, n, "floor_crash_p50_ms", "ms", pct(lat, 0.5), lat, note)
	b.floorMu.Lock()
	b.restarts[n] = append(b.restarts[n], lat...)
	at, all := b.restarts[n], []float64{}
	for _, xs := range b.restarts {
		all = append(all, xs...)
	}
	b.floorMu.Unlock()
	b.setMedian("floor", n, "restart_ms", at)
	b.setMedian("floor", 0, "restart_ms", all)
	b.logf("restart floor beside %s-%d: p50 %.2f ms (%s)", peer, n, pct(lat, 0.5), note)
}
