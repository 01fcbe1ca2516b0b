package atomicfile

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

// A burst of changes is saved once, an interval after its first change
// (not at once: the change is most often the first of a few, with work
// beside them that the save would slow down), and a change after that
// save is saved an interval after it: nothing is lost, nothing is
// written twice for one change, no save follows another within the
// interval.
func TestSaver_SavesABurstOnceAnIntervalAfterIt(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var saves atomic.Int64
		var s *Saver
		s = NewSaver(100*time.Millisecond, func() { s.Clean(); saves.Add(1) })
		ctx, cancel := context.WithCancel(t.Context())
		var wg sync.WaitGroup
		wg.Go(func() { s.Run(ctx) })

		for range 50 {
			s.MarkDirty()
		}
		synctest.Wait()
		if n := saves.Load(); n != 0 {
			t.Fatalf("%d saves at once after a burst, want none before the interval", n)
		}
		time.Sleep(60 * time.Millisecond)
		s.MarkDirty() // within the interval: saved with the burst
		time.Sleep(40 * time.Millisecond)
		synctest.Wait()
		if n := saves.Load(); n != 1 {
			t.Fatalf("%d saves an interval after the burst, want 1", n)
		}
		s.MarkDirty() // right after the save: an interval after it
		time.Sleep(99 * time.Millisecond)
		synctest.Wait()
		if n := saves.Load(); n != 1 {
			t.Fatalf("%d saves within the interval after a save, want still 1", n)
		}
		time.Sleep(time.Millisecond)
		synctest.Wait()
		if n := saves.Load(); n != 2 {
			t.Fatalf("%d saves after the interval, want 2", n)
		}
		if s.Dirty() {
			t.Fatal("dirty after its save")
		}
		time.Sleep(time.Second) // nothing changed: nothing saved
		synctest.Wait()
		if n := saves.Load(); n != 2 {
			t.Fatalf("%d saves without a change, want 2", n)
		}
		cancel()
		wg.Wait()
	})
}

// A save that failed marks the content dirty again and is retried at the
// next interval.
func TestSaver_RetriesAFailedSave(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var saves atomic.Int64
		var s *Saver
		s = NewSaver(100*time.Millisecond, func() {
			s.Clean()
			if saves.Add(1) == 1 {
				s.MarkDirty() // the write failed
			}
		})
		ctx, cancel := context.WithCancel(t.Context())
		var wg sync.WaitGroup
		wg.Go(func() { s.Run(ctx) })
		s.MarkDirty()
		time.Sleep(200 * time.Millisecond) // the save an interval after the change, its retry an interval after that
		synctest.Wait()
		if n := saves.Load(); n != 2 {
			t.Fatalf("%d saves, want the failed one and its retry", n)
		}
		cancel()
		wg.Wait()
	})
}
