package reconciler

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"proclet.dev/proclet/internal/atomicfile"
)

// saver writes a state file that follows in-memory state: at most once per
// every, and not at all while nothing changed (an idle daemon has no timer
// to wake for). It knows nothing of what it writes: encode reads the
// owner's state (under the owner's lock) and returns the file's content,
// write replaces the file atomically. The dirty flag and the loop are
// atomicfile.Saver's, the one the runtime's instances.json store uses too;
// this adds the encoding and the error handling of the reconciler's file.
type saver struct {
	path   string // "": keep nothing, every method is a no-op
	encode func() ([]byte, error)
	write  func(path string, b []byte) error
	log    *slog.Logger
	loop   *atomicfile.Saver

	// mu makes saves one at a time: encode may keep a cache between
	// calls (stateEncoder), which mu then guards.
	mu sync.Mutex
}

func newSaver(path string, every time.Duration, log *slog.Logger, encode func() ([]byte, error), write func(string, []byte) error) *saver {
	s := &saver{path: path, encode: encode, write: write, log: log}
	s.loop = atomicfile.NewSaver(every, s.save)
	return s
}

// markDirty says the state changed: run saves it within every. It never
// blocks, and may be called under the owner's lock.
func (s *saver) markDirty() {
	if s.path != "" {
		s.loop.MarkDirty()
	}
}

// run saves changes, at most once every, until ctx is done. The last
// change is the caller's to save (save) once nothing changes state.
func (s *saver) run(ctx context.Context) {
	if s.path != "" {
		s.loop.Run(ctx)
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
	if !s.loop.Dirty() {
		return
	}
	// Cleaned before encode reads the state: a change from now on is
	// marked again and saved next time, never lost.
	s.loop.Clean()
	b, err := s.encode()
	if err == nil {
		err = s.write(s.path, b)
	}
	if err != nil {
		s.log.Error("save state", "file", s.path, "err", err)
		s.loop.MarkDirty()
	}
}
