package atomicfile

import (
	"context"
	"sync/atomic"
	"time"
)

// Saver coalesces the saves of one state file: changes mark it dirty from
// any goroutine, lock or no lock, without blocking (MarkDirty), and Run
// calls save one interval after the change that made it dirty, with every
// change made meanwhile, so that a burst of changes costs one write and
// no save follows another within the interval. A save that must happen
// now (at shutdown) calls the save function directly; either way the save
// calls Clean when it takes its snapshot, and MarkDirty again when its
// write failed, to be retried.
//
// The save waits the interval rather than running at once because the
// change that marks the state dirty is most often the first of a few in
// the same milliseconds, with work the daemon must do at once beside
// them: an instance's exit, then its restart. A save of every instance at
// the exit ran beside the restart, on a core the new process needed.
type Saver struct {
	every time.Duration
	save  func()
	dirty atomic.Bool
	kick  chan struct{} // capacity 1: "dirty was set"
}

// NewSaver returns a Saver that calls save every after a change, at most
// once every every.
func NewSaver(every time.Duration, save func()) *Saver {
	return &Saver{every: every, save: save, kick: make(chan struct{}, 1)}
}

// MarkDirty says the content changed. It never blocks.
func (s *Saver) MarkDirty() {
	s.dirty.Store(true)
	select {
	case s.kick <- struct{}{}:
	default:
	}
}

// Clean says the content as of now is being saved: call it from save,
// before taking the snapshot, so that a change after it marks it dirty
// again.
func (s *Saver) Clean() { s.dirty.Store(false) }

// Dirty reports whether a change has not been saved yet.
func (s *Saver) Dirty() bool { return s.dirty.Load() }

// Run saves the content every after the change that made it dirty (the
// changes made meanwhile with it), until ctx is done. It does not save on
// its way out: the owner saves at shutdown as it sees fit.
func (s *Saver) Run(ctx context.Context) {
	t := time.NewTimer(s.every)
	t.Stop()
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-s.kick:
		}
		t.Reset(s.every)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		// The changes so far are this save's: a change after this point
		// kicks again and waits its own interval.
		select {
		case <-s.kick:
		default:
		}
		if s.dirty.Load() {
			s.save()
		}
	}
}
