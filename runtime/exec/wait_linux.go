package exec

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"proclet.dev/proclet/apis/v1alpha1"

	"proclet.dev/proclet/runtime"
)

// drainTimeout bounds how long the waiter waits, after the instance's group
// is gone, for its output to reach EOF. Only a process that left the group
// (setsid) and kept the output open makes it expire.
const drainTimeout = 2 * time.Second

// pidWaiter waits for a child's exit through a pidfd without reaping it,
// so its pid (and process group id) stay reserved until cmd.Wait. Unlike a
// blocking wait(2), the wait can be cancelled (Detach) or bounded by a
// deadline (preStop), through Go's poller.
type pidWaiter struct {
	f *os.File

	// The waiter goroutine held back until the exit (start). mu is taken
	// once by start and once by Cancel, never while the process runs.
	mu        sync.Mutex
	cancelled bool   // Cancel was called
	fireNow   func() // starts the held-back goroutine at once; nil: none held back
}

// readableNotifier runs a function once a file descriptor is readable,
// with no goroutine waiting for it meanwhile. The output poller is one
// (output_poll_linux.go): its epoll loop watches the pidfds beside the
// output FIFOs, so that a running instance costs no goroutine.
type readableNotifier interface {
	// onReadable arranges for fire to run, on a goroutine of its own,
	// once fd is readable or once now is called, whichever comes first;
	// fire runs once. fd must stay open until fire runs. ok is false,
	// with nothing arranged, when fd cannot be watched.
	onReadable(fd int, fire func()) (now func(), ok bool)
}

func newPidWaiter(pid int) (*pidWaiter, error) {
	fd, err := unix.PidfdOpen(pid, unix.PIDFD_NONBLOCK)
	if err != nil {
		return nil, fmt.Errorf("pidfd_open %d: %w", pid, err)
	}
	return &pidWaiter{f: os.NewFile(uintptr(fd), "pidfd")}, nil
}

// Wait blocks until the process exits (true), or the deadline passes or
// Cancel is called (false).
func (w *pidWaiter) Wait() bool {
	rc, err := w.f.SyscallConn()
	if err != nil {
		return false
	}
	exited := false
	err = rc.Read(func(fd uintptr) bool {
		exited = pidfdReadable(int(fd))
		return exited
	})
	return exited && err == nil
}

// pidfdReadable reports whether the pidfd signals an exit.
func pidfdReadable(fd int) bool {
	pfd := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
	for {
		n, err := unix.Poll(pfd, 0)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		return err == nil && n > 0
	}
}

// SetDeadline bounds Wait; the zero time removes the bound.
func (w *pidWaiter) SetDeadline(t time.Time) { w.f.SetReadDeadline(t) }

// start runs the waiter goroutine run (which calls w.Wait) once the
// process has exited or w is cancelled: until then, while n watches the
// pidfd, it costs no goroutine. When n cannot watch it, or w is already
// cancelled, run starts now (and blocks in Wait). Call it once; the caller
// did e.wg.Add(1) for run.
func (w *pidWaiter) start(n readableNotifier, run func()) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.cancelled { // else Wait returns false at once
		if _, fd, ok := rawFD(w.f); ok {
			if now, ok := n.onReadable(fd, run); ok {
				w.fireNow = now
				return
			}
		}
	}
	go run()
}

// Cancel makes Wait return false now, and starts the waiter goroutine if
// it is held back until the exit (start).
func (w *pidWaiter) Cancel() {
	w.f.SetReadDeadline(time.Unix(1, 0))
	w.mu.Lock()
	w.cancelled = true
	now := w.fireNow
	w.mu.Unlock()
	if now != nil {
		now()
	}
}

// Close releases the pidfd.
func (w *pidWaiter) Close() { w.f.Close() }

// wait is the one waiter of h's process: the only goroutine that reaps it.
// On exit it kills what is left of the group (the leader, a zombie until
// reaped, keeps the group id from being reused), kills a running preStop
// hook, reaps, waits for the output to drain, records the exit and queues
// an event. On Detach it leaves the process running and unreaped.
func (e *Runtime) wait(h *handle) {
	defer e.wg.Done()
	defer h.exit.Close()
	// The logger is made when needed: built up front, it would sit in
	// every idle waiter's frame (a thousand handler clones).
	log := func() *slog.Logger { return e.log.With("app", h.spec.App, "instance", h.spec.Instance, "pid", h.pid) }
	if !h.exit.Wait() {
		if !e.isDetached() {
			log().Error("cannot wait for the instance any more; it is no longer observed")
		}
		h.cgroup.Release() // it keeps running in it
		return
	}
	at := time.Now()
	e.markGone(h)
	unix.Kill(-h.pid, unix.SIGKILL)
	h.cgroup.Kill() // what left the group too
	ws, err := reap(h.pid)
	if err != nil {
		log().Error("reaping instance", "err", err)
	}
	exit := exitStatus(ws, err, at)
	if h.spec.RecordExit {
		e.removeExitRecord(h.spec.UID) // reaped: the shim's status is the command's, and no next daemon needs the record
	}
	e.drain(h, log())
	for _, r := range h.output {
		os.Remove(r.fifo)
	}
	exit = e.recordExit(h, exit)
	e.log.Debug("exited", "app", h.spec.App, "instance", h.spec.Instance, "pid", h.pid, "exit_code", exit.Code, "signal", exit.Signal, "reason", exit.Reason)
}

// drain waits for both output readers to reach EOF, at most drainTimeout,
// then cancels them.
func (e *Runtime) drain(h *handle, log *slog.Logger) {
	t := time.NewTimer(drainTimeout)
	defer t.Stop()
	for _, r := range h.output {
		select {
		case <-r.done:
			continue
		case <-t.C:
		}
		log.Warn("instance exited but its output is still held open, by a process outside its group; no longer reading it")
		for _, r := range h.output {
			r.cancel()
		}
		for _, r := range h.output {
			<-r.done
		}
		return
	}
}

// reap waits for the child pid's exit status and frees its pid.
func reap(pid int) (unix.WaitStatus, error) {
	for {
		var ws unix.WaitStatus
		_, err := unix.Wait4(pid, &ws, 0, nil)
		if !errors.Is(err, unix.EINTR) {
			return ws, err
		}
	}
}

// exitStatus reads how the process ended (ws, as reap returned it with
// err). A signal death is reported as code 128+signal, as shells and
// Kubernetes do, with the signal's name.
func exitStatus(ws unix.WaitStatus, err error, at time.Time) v1alpha1.ExitStatus {
	x := v1alpha1.ExitStatus{At: at, Reason: "Error"}
	switch {
	case err != nil:
		x.Code, x.Reason = -1, "Unknown"
	case ws.Signaled():
		x.Code = 128 + int(ws.Signal())
		x.Signal = unix.SignalName(ws.Signal())
	default:
		x.Code = ws.ExitStatus()
		if x.Code == 0 {
			x.Reason = "Completed"
		}
	}
	return x
}

// markGone records that h's process has exited: probing stops, it is no
// longer ready, and whoever waits on h.done (a stop, a preStop hook) is
// released. The waiter calls it once.
func (e *Runtime) markGone(h *handle) {
	e.mu.Lock()
	h.live.reaped = true
	h.stopProbes()
	h.live.state.Probe.Ready = false // an exited instance serves nothing
	hook := h.live.hook
	e.mu.Unlock()
	close(h.done)
	if hook != nil {
		hook.Cancel()
	}
}

// recordExit makes exit the instance's: OOMKilled when its cgroup says so
// (which removes the cgroup), the reason of the stop that ended it if the
// daemon asked for one; then it tells the reconciler. It returns the exit
// as recorded.
func (e *Runtime) recordExit(h *handle, exit v1alpha1.ExitStatus) v1alpha1.ExitStatus {
	exit = e.initExit(h, exit) // a failed init step (init_linux.go)
	if h.cgroup.Exited() {
		exit.Reason = runtime.ReasonOOMKilled
	}
	e.mu.Lock()
	if h.live.stopReason != "" {
		exit.Reason = h.live.stopReason
	}
	h.live.state.Exit = &exit
	h.live.state.Stopping = false
	h.live.finished = true
	e.notifyLocked(h.spec.App, h.spec.UID)
	e.mu.Unlock()
	e.kickRun()
	return exit
}
