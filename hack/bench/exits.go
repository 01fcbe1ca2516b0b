package main

import (
	"context"
	"errors"
	"time"

	"golang.org/x/sys/unix"
)

// exitWatch sees processes exit with a pidfd each (POLLIN once the
// process has exited, reaped or not), from a goroutine started before the
// harness asks for the stop: an exit is timed as it happens, even while a
// synchronous stop command still runs.
type exitWatch struct {
	done  chan struct{}
	last  time.Time // when the last one exited (the start, if none was left)
	left  int
	err   error
	close func()
}

// watchGone starts watching pids; wait returns the result.
func watchGone(ctx context.Context, pids []int, timeout time.Duration) *exitWatch {
	ctx, cancel := context.WithCancel(ctx)
	w := &exitWatch{done: make(chan struct{}), close: cancel}
	var fds []unix.PollFd
	for _, pid := range pids {
		fd, err := unix.PidfdOpen(pid, 0)
		if err != nil {
			continue // ESRCH: gone already
		}
		fds = append(fds, unix.PollFd{Fd: int32(fd), Events: unix.POLLIN})
	}
	go func() {
		defer close(w.done)
		w.last, w.left, w.err = pollGone(ctx, fds, timeout)
	}()
	return w
}

// wait waits for the watch to end and returns its result.
func (w *exitWatch) wait() (last time.Time, left int, err error) {
	<-w.done
	w.close()
	return w.last, w.left, w.err
}

// waitGone watches pids until they have all exited.
func waitGone(ctx context.Context, pids []int, timeout time.Duration) (last time.Time, left int, err error) {
	return watchGone(ctx, pids, timeout).wait()
}

// pollGone polls fds (and closes them) until every process exited.
func pollGone(ctx context.Context, fds []unix.PollFd, timeout time.Duration) (last time.Time, left int, err error) {
	last = time.Now()
	defer func() {
		for _, f := range fds {
			unix.Close(int(f.Fd))
		}
	}()
	deadline := time.Now().Add(timeout)
	for len(fds) > 0 {
		if ctx.Err() != nil {
			return last, len(fds), ctx.Err()
		}
		wait := min(time.Until(deadline), 100*time.Millisecond)
		if wait <= 0 {
			return last, len(fds), errTimeout
		}
		n, err := unix.Poll(fds, int(wait/time.Millisecond)+1)
		if err != nil && !errors.Is(err, unix.EINTR) {
			return last, len(fds), err
		}
		if n <= 0 {
			continue
		}
		now := time.Now()
		kept := fds[:0]
		for _, f := range fds {
			if f.Revents != 0 {
				unix.Close(int(f.Fd))
				last = now
				continue
			}
			f.Revents = 0
			kept = append(kept, f)
		}
		fds = kept
	}
	return last, 0, nil
}

// stopTime runs stop and times until no process marked with token is
// left, looping while new ones appear (a supervisor restarting what it was
// told to stop).
func stopTime(ctx context.Context, token string, timeout time.Duration, stop func() error) (time.Duration, error) {
	w := watchGone(ctx, marked(token), timeout)
	t0 := time.Now()
	deadline := t0.Add(timeout)
	if err := stop(); err != nil {
		w.close()
		w.wait()
		return 0, err
	}
	last := t0
	for {
		l, left, err := w.wait()
		if l.After(last) {
			last = l
		}
		if err != nil {
			if left > 0 && errors.Is(err, errTimeout) {
				return 0, errTimeout
			}
			return 0, err
		}
		pids := marked(token)
		if len(pids) == 0 {
			return last.Sub(t0), nil
		}
		if time.Now().After(deadline) {
			return 0, errTimeout
		}
		w = watchGone(ctx, pids, time.Until(deadline))
	}
}
