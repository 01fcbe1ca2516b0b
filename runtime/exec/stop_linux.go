package exec

import (
	"context"
	"fmt"
	"log/slog"
	"os/exec"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"proclet.dev/proclet/runtime"
)

const (
	// minGrace is the least time the stop signal gets before SIGKILL, even
	// when the grace period is shorter or a preStop hook used it up
	// (Kubernetes' minimumGracePeriodInSeconds). Only a zero grace is less.
	minGrace = 2 * time.Second
	// killWait bounds the wait for an exit after SIGKILL before the stop
	// reports a process that will not die (stuck in the kernel).
	killWait = 10 * time.Second
)

// newHookWaiter makes the waiter of a preStop hook. A variable only so that
// a test can make it fail (pidfd_open refused) or act at that moment (the
// instance exiting while the hook starts); nothing else sets it.
var newHookWaiter = newPidWaiter

// Stop implements Interface. The stop runs in a goroutine of its own.
func (e *Runtime) Stop(uid string, spec runtime.StopSpec) error {
	e.mu.Lock()
	h, ok := e.handles[uid]
	switch {
	case !ok:
		e.mu.Unlock()
		return fmt.Errorf("stop %s: %w", uid, runtime.ErrNotFound)
	case e.detached:
		e.mu.Unlock()
		return fmt.Errorf("stop %s: %w", uid, runtime.ErrClosed)
	case h.live.state.Stopping || h.live.reaped:
		e.mu.Unlock()
		return nil
	}
	h.live.state.Stopping = true
	h.stopProbes() // no probing during the kill
	h.live.stopReason = spec.Reason
	if h.live.stopReason == "" {
		h.live.stopReason = "Stopped"
	}
	// The waiter of h is running (not reaped), so the counter is above
	// zero and this Add cannot race a Wait that saw zero.
	e.wg.Add(1)
	e.mu.Unlock()
	go e.stop(h, spec, time.Now())
	return nil
}

// stop is the stop sequence of one instance: preStop, the stop signal to
// the group, SIGKILL to the group when the grace period is over.
func (e *Runtime) stop(h *handle, spec runtime.StopSpec, begin time.Time) {
	defer e.wg.Done()
	log := e.log.With("app", h.spec.App, "instance", h.spec.Instance, "pid", h.pid)
	if spec.Grace <= 0 {
		e.signal(h, unix.SIGKILL)
		return
	}
	sig := spec.Signal
	if sig == 0 {
		sig = unix.SIGTERM
	}
	deadline := begin.Add(spec.Grace)
	if len(spec.PreStop) > 0 {
		e.runPreStop(h, spec.PreStop, deadline, log)
		if e.isDetached() {
			return
		}
	}
	killAfter := max(time.Until(deadline), minGrace)
	if !e.signal(h, sig) {
		return // gone (reaped, or adopted and no longer that process) or detached
	}
	t := time.NewTimer(killAfter)
	defer t.Stop()
	select {
	case <-h.done:
		return // exited within the grace period
	case <-e.detachCh:
		return
	case <-t.C:
	}
	if e.signal(h, unix.SIGKILL) {
		log.Warn("grace period over; killed the process group", "grace_seconds", spec.Grace.Seconds())
	}
	t.Reset(killWait)
	select {
	case <-h.done:
	case <-e.detachCh:
	case <-t.C:
		log.Error("instance still running after SIGKILL", "wait_seconds", killWait.Seconds())
	}
}

// runPreStop runs the preStop hook in the instance's environment, working
// dir and user, in a process group of its own, with its output into the
// instance's log. The hook is killed (with its group) at deadline, or when
// the instance exits first. On Detach it is left running.
func (e *Runtime) runPreStop(h *handle, argv []string, deadline time.Time, log *slog.Logger) {
	// Like Kubernetes, hook commands are not $(VAR)-expanded: they get the
	// instance's environment, and a shell can read it.
	args := argv
	path, err := resolveExecutable(args[0], h.dir, h.env)
	if err != nil {
		log.Warn("preStop hook failed", "err", fmt.Errorf("exec %s: %w", shownArg(args[0]), err))
		return
	}
	cmd := &exec.Cmd{
		Path:        path,
		Args:        args,
		Env:         h.env.Environ(),
		Dir:         h.dir,
		SysProcAttr: &syscall.SysProcAttr{Setpgid: true, Credential: h.cred},
	}
	// The hook's output goes to the instance's log; to /dev/null if the
	// FIFO is gone.
	if f, err := openFIFOWriter(h.output[0].fifo); err == nil {
		cmd.Stdout = f
		defer f.Close()
	}
	if f, err := openFIFOWriter(h.output[1].fifo); err == nil {
		cmd.Stderr = f
		defer f.Close()
	}
	err = cmd.Start()
	if err != nil {
		log.Warn("preStop hook failed", "err", fmt.Errorf("exec %s: %w", shownArg(args[0]), osErr(err)))
		return
	}
	pid := cmd.Process.Pid
	w, err := newHookWaiter(pid)
	if err != nil {
		unix.Kill(-pid, unix.SIGKILL)
		cmd.Wait()
		log.Warn("preStop hook failed", "err", err)
		return
	}
	defer w.Close()
	w.SetDeadline(deadline)

	e.mu.Lock()
	cancelled := e.detached || h.live.reaped
	if !cancelled {
		h.live.hook = w
	}
	e.mu.Unlock()
	exited := !cancelled && w.Wait()
	e.mu.Lock()
	h.live.hook = nil
	detached := e.detached
	e.mu.Unlock()

	if !exited {
		if detached {
			cmd.Process.Release()
			return
		}
		// Deadline or the instance exited: the hook is not reaped yet, so
		// its pid still names its group.
		unix.Kill(-pid, unix.SIGKILL) // the hook and its group
		w.SetDeadline(time.Time{})
		w.Wait()
	}
	unix.Kill(-pid, unix.SIGKILL) // whatever the hook left in its group
	err = cmd.Wait()
	switch {
	case !exited:
		log.Warn("preStop hook killed: grace period over or instance exited")
	case err != nil:
		log.Warn("preStop hook failed", "err", err)
	default:
		log.Info("preStop hook done")
	}
}

// StopAll is the "stop" shutdown policy: it stops every instance
// gracefully and in parallel, each by its own spec (StopSpecFor, with
// reason), and waits until all have exited and their output is written,
// or ctx ends. From the first call on, Start fails with ErrClosed.
func (e *Runtime) StopAll(ctx context.Context, reason string) error {
	defer e.writeInstances() // what is left running, for the next daemon
	e.mu.Lock()
	e.closing = true
	e.mu.Unlock()
	e.starts.Wait()
	e.mu.Lock()
	hs := make([]*handle, 0, len(e.handles))
	for _, h := range e.handles {
		hs = append(hs, h)
	}
	e.mu.Unlock()
	for _, h := range hs {
		e.Stop(h.spec.UID, runtime.StopSpecFor(h.spec.Spec, reason)) // no-op if stopping or exited
	}
	for i, h := range hs {
		select {
		case <-h.done:
		case <-ctx.Done():
			return fmt.Errorf("stop all: %d of %d instances still running: %w", len(hs)-i, len(hs), ctx.Err())
		}
	}
	// Every instance exited: the waiters only drain output (bounded by
	// drainTimeout), hooks are being killed, stoppers return at once.
	e.wg.Wait()
	e.notify.close()
	return nil
}

// Detach is the "keep" shutdown policy: it leaves every instance running,
// stops reading their output (what they write next waits in their FIFO for
// the next daemon) and waits for every goroutine of e to end. Exits are
// no longer observed. From the first call on, Start fails with ErrClosed.
func (e *Runtime) Detach() {
	e.mu.Lock()
	e.closing = true
	if !e.detached {
		e.detached = true
		close(e.detachCh)
	}
	e.mu.Unlock()
	e.starts.Wait()
	e.mu.Lock()
	var waiters []*pidWaiter
	var readers []*reader
	for _, h := range e.handles {
		h.stopProbes()
		waiters = append(waiters, h.exit)
		if h.live.hook != nil {
			waiters = append(waiters, h.live.hook)
		}
		readers = append(readers, h.output[:]...)
	}
	e.mu.Unlock()
	for _, w := range waiters {
		w.Cancel()
	}
	for _, r := range readers {
		r.cancel()
	}
	e.wg.Wait()
	e.notify.close()
	e.writeInstances() // every instance, for the next daemon to adopt
}
