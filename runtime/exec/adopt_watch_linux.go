package exec

// This file holds how an adopted instance's exit is seen: a pidfd, or
// /proc polling where the kernel has none, and what its waiter does then.

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"proclet.dev/proclet/runtime/procfs"
)

// watchExit returns a waiter that fires when the process exits: a pidfd
// (which works for a process that is not our child), or where the kernel
// has no pidfd_open, a pipe closed by a goroutine that polls /proc every
// adoptPollInterval (unwatch ends that goroutine). ESRCH: errGone.
func (e *Runtime) watchExit(pid int, ticks uint64) (*pidWaiter, func(), error) {
	w, err := newPidWaiter(pid)
	if err == nil {
		return w, nil, nil
	}
	if errors.Is(err, unix.ESRCH) {
		return nil, nil, errGone
	}
	if !errors.Is(err, unix.ENOSYS) {
		e.log.Warn("pidfd_open failed; watching the instance by polling /proc", "pid", pid, "err", err)
	}
	return e.pollExit(pid, ticks)
}

// pollExit is watchExit's fallback: the waiter's file is the read end of a
// pipe whose write end is closed once pid is no longer the process that
// started at ticks (or when the Runtime detaches: the waiter checks which).
func (e *Runtime) pollExit(pid int, ticks uint64) (*pidWaiter, func(), error) {
	r, wr, err := os.Pipe()
	if err != nil {
		return nil, nil, fmt.Errorf("watch pid %d: %w", pid, err)
	}
	stop := make(chan struct{})
	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		defer wr.Close()
		t := time.NewTicker(adoptPollInterval)
		defer t.Stop()
		for procfs.SameProcess(pid, ticks) {
			select {
			case <-stop:
				return
			case <-e.detachCh:
				return
			case <-t.C:
			}
		}
	}()
	return &pidWaiter{f: r}, sync.OnceFunc(func() { close(stop) }), nil
}

// signallable reports whether h's process group may be signalled beyond
// the reaped check: always for an instance this Runtime started (its leader
// is a zombie until reaped, so its pid cannot be reused); for an adopted
// one only while its exit watcher has not fired and /proc still shows the
// process that started at startTicks (not our child: once it exits, init
// reaps it and its pid may be reused). Caller holds e.mu.
func (h *handle) signallable(detached bool) bool {
	if h.adopted == nil {
		return true
	}
	if detached || waiterFired(h.exit) {
		return false
	}
	return procfs.SameProcess(h.pid, h.startTicks)
}

// waiterFired polls w without blocking.
func waiterFired(w *pidWaiter) bool {
	rc, err := w.f.SyscallConn()
	if err != nil {
		return true
	}
	fired := true
	if err := rc.Control(func(fd uintptr) { fired = pidfdReadable(int(fd)) }); err != nil {
		return true
	}
	return fired
}

// waitAdopted is the one waiter of an adopted instance. It cannot reap
// (the process is not our child, init reaps it): the exit is the one its
// waiting shim recorded (exitrecord_linux.go), else Unknown, code -1 (with
// the reason of our Stop, if any). Otherwise it
// does what wait does: it kills what is left of the group, waits for the
// output to drain, records the exit and queues an event. On Detach it
// leaves the process running.
func (e *Runtime) waitAdopted(h *handle) {
	defer e.wg.Done()
	defer h.exit.Close()
	if h.adopted.unwatch != nil {
		defer h.adopted.unwatch()
	}
	log := func() *slog.Logger { return e.log.With("app", h.spec.App, "instance", h.spec.Instance, "pid", h.pid) }
	if !h.exit.Wait() || e.isDetached() {
		if !e.isDetached() {
			log().Error("cannot wait for the adopted instance any more; it is no longer observed")
		}
		return
	}
	at := time.Now()
	e.markGone(h)
	// What is left of the group. Unlike a child's, the leader is not
	// held as a zombie until then (init reaped it): the group id stays
	// reserved while the group has members, and could name another group
	// only if the pid space had wrapped around since the exit.
	unix.Kill(-h.pid, unix.SIGKILL)
	h.cgroup.Kill() // what left the group too
	e.drain(h, log())
	for _, stream := range streams {
		os.Remove(fifoPath(e.runDir, h.spec.UID, stream))
	}
	x, known := e.adoptedExit(h.spec.UID, h.pid, at)
	exit := e.recordExit(h, x)
	if known {
		log().Info("adopted instance exited; its waiting shim recorded the exit", "exit_code", exit.Code, "signal", exit.Signal, "reason", exit.Reason)
	} else {
		log().Info("adopted instance exited; its exit code cannot be known", "reason", exit.Reason)
	}
}
