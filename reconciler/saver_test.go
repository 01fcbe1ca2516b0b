package reconciler

import (
	"context"
	"errors"
	"log/slog"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

// The saver writes only what changed, at most once per every, and retries
// a failed write.
func TestSaver_WritesChangesOnlyAndRetriesFailures(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var version, writes atomic.Int64
		var fail atomic.Bool
		var written atomic.Int64
		s := newSaver("state.json", time.Second, slog.New(slog.DiscardHandler),
			func() ([]byte, error) { return []byte{byte(version.Load())}, nil },
			func(path string, b []byte) error {
				writes.Add(1)
				if fail.Load() {
					return errors.New("disk full")
				}
				written.Store(int64(b[0]))
				return nil
			})
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan struct{})
		go func() { s.run(ctx); close(done) }()
		defer func() { cancel(); <-done }()

		time.Sleep(10 * time.Second)
		synctest.Wait()
		if n := writes.Load(); n != 0 {
			t.Fatalf("%d writes while nothing changed", n)
		}
		for range 5 { // a burst of changes: one write
			version.Add(1)
			s.markDirty()
		}
		time.Sleep(time.Second)
		synctest.Wait()
		if n, w := writes.Load(), written.Load(); n != 1 || w != 5 {
			t.Fatalf("after a burst: %d writes, last wrote version %d; want 1 write of version 5", n, w)
		}
		fail.Store(true)
		version.Add(1)
		s.markDirty()
		time.Sleep(time.Second)
		synctest.Wait()
		fail.Store(false)
		time.Sleep(time.Second)
		synctest.Wait()
		if n, w := writes.Load(), written.Load(); n != 3 || w != 6 {
			t.Fatalf("after a failed write: %d writes, version %d on disk; want the retry (3 writes) of version 6", n, w)
		}
		time.Sleep(10 * time.Second)
		synctest.Wait()
		if n := writes.Load(); n != 3 {
			t.Fatalf("%d writes once saved, want no more", n)
		}
	})
}
