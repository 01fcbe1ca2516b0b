package atomicfile

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

// A burst of changes is saved once per interval, and a change during a
// save is saved again: nothing is lost, nothing is written twice for one
// change.
func TestSaver_CoalescesAndKeepsLateChanges(t *testing.T) {
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
		if n := saves.Load(); n != 1 {
			t.Fatalf("%d saves after a burst, want 1 at once", n)
		}
		s.MarkDirty() // within the interval: waits for its end
		synctest.Wait()
		if n := saves.Load(); n != 1 {
			t.Fatalf("%d saves within the interval, want still 1", n)
		}
		time.Sleep(100 * time.Millisecond) // fake time: the interval ends
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
		time.Sleep(150 * time.Millisecond)
		synctest.Wait()
		if n := saves.Load(); n != 2 {
			t.Fatalf("%d saves, want the failed one and its retry", n)
		}
		cancel()
		wg.Wait()
	})
}
