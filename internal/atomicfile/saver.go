package atomicfile

import (
	"context"
	"sync/atomic"
	"time"
)

// Saver coalesces the saves of one state file: changes mark it dirty from
// any goroutine, lock or no lock, without blocking (MarkDirty), and Run
// calls save when it is dirty, at most once every interval, so that a
// burst of changes costs one write. A save that must happen now (at
// shutdown) calls the save function directly; either way the save calls
// Clean when it takes its snapshot, and MarkDirty again when its write
// failed, to be retried.
type Saver struct {
	every time.Duration
	save  func()
	dirty atomic.Bool
	kick  chan struct{} // capacity 1: "dirty was set"
}

// NewSaver returns a Saver that calls save at most once every every.
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

// Run saves whenever the content is dirty, at most once every interval,
// until ctx is done. It does not save on its way out: the owner saves at
// shutdown as it sees fit.
func (s *Saver) Run(ctx context.Context) {
	t := time.NewTimer(s.every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-s.kick:
		}
		if s.dirty.Load() {
			s.save()
		}
		t.Reset(s.every)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
