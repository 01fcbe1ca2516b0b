package reconciler

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// saver writes a state file that follows in-memory state: at most once per
// every, and not at all while nothing changed (an idle daemon has no timer
// to wake for). It knows nothing of what it writes: encode reads the
// owner's state (under the owner's lock) and returns the file's content,
// write replaces the file atomically. The reconciler's state file is one
// such file; the runtime's instance and port stores have the same shape.
type saver struct {
	path   string // "": keep nothing, every method is a no-op
	every  time.Duration
	encode func() ([]byte, error)
	write  func(path string, b []byte) error
	log    *slog.Logger

	dirty atomic.Bool   // changed since the last save began
	kick  chan struct{} // capacity 1: "dirty was set", wakes run

	// mu makes saves one at a time: encode may keep a cache between
	// calls (stateEncoder), which mu then guards.
	mu sync.Mutex
}

func newSaver(path string, every time.Duration, log *slog.Logger, encode func() ([]byte, error), write func(string, []byte) error) *saver {
	return &saver{path: path, every: every, encode: encode, write: write, log: log, kick: make(chan struct{}, 1)}
}

// markDirty says the state changed: run saves it within every. It never
// blocks, and may be called under the owner's lock.
func (s *saver) markDirty() {
	if s.path == "" {
		return
	}
	s.dirty.Store(true)
	select {
	case s.kick <- struct{}{}:
	default:
	}
}

// run saves a change every after it was marked, until ctx is done. The
// last change is the caller's to save (save) once nothing changes state.
func (s *saver) run(ctx context.Context) {
	if s.path == "" {
		return
	}
	t := time.NewTimer(s.every)
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
		s.save()
	}
}

// save writes the file if anything changed since the last save. A failed
// write marks the state dirty again: it is retried every from now.
func (s *saver) save() {
	if s.path == "" {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	// Cleared before encode reads the state: a change from now on is
	// marked again and saved next time, never lost.
	if !s.dirty.Swap(false) {
		return
	}
	b, err := s.encode()
	if err == nil {
		err = s.write(s.path, b)
	}
	if err != nil {
		s.log.Error("save state", "file", s.path, "err", err)
		s.markDirty()
	}
}
