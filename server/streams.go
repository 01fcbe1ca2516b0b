package server

import "time"

// limiter caps the concurrent streams (log follows and watches): each
// holds a slot of a semaphore while it runs.
type limiter struct {
	slots chan struct{}
}

func newLimiter(n int) *limiter {
	if n <= 0 {
		n = DefaultMaxStreams
	}
	return &limiter{slots: make(chan struct{}, n)}
}

// tryAcquire takes a slot without waiting; false when all are taken.
func (l *limiter) tryAcquire() bool {
	select {
	case l.slots <- struct{}{}:
		return true
	default:
		return false
	}
}

func (l *limiter) release() { <-l.slots }

func (l *limiter) limit() int { return cap(l.slots) }

// drain takes every slot, waiting up to timeout for the running streams
// to end; it reports whether they all did. No stream can start after it.
func (l *limiter) drain(timeout time.Duration) bool {
	t := time.NewTimer(timeout)
	defer t.Stop()
	for range cap(l.slots) {
		select {
		case l.slots <- struct{}{}:
		case <-t.C:
			return false
		}
	}
	return true
}
