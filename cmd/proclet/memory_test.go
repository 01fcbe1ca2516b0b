package main

import (
	"context"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"testing"
	"testing/synctest"
	"time"
)

var sink [][]byte

// heapFree is the heap memory free and not returned to the OS.
func heapFree() uint64 {
	s := []metrics.Sample{{Name: "/memory/classes/heap/free:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

// Within freeMemoryEvery of a burst of garbage, the daemon's free heap is
// back with the OS.
func TestReleaseFreeMemory(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan struct{})
		go func() { releaseFreeMemory(ctx); close(done) }()
		for i := range 64 {
			sink = append(sink, make([]byte, 1<<20))
			sink[i][0] = 1
		}
		sink = nil
		runtime.GC() // the 64 MiB are free pages now, kept by the runtime
		if free := heapFree(); free < 32<<20 {
			t.Skipf("only %d bytes free after a GC of 64 MiB: the runtime returned them already", free)
		}
		time.Sleep(freeMemoryEvery)
		synctest.Wait()
		if free := heapFree(); free > 16<<20 { // other goroutines may free some meanwhile
			t.Errorf("%d bytes of heap free and kept after the release", free)
		}
		cancel()
		<-done
	})
}

// A GC that left little free heap (the runtime's periodic one in an idle
// daemon) is not followed by a forced one: it would cost a full GC to
// give back what the runtime's scavenger returns anyway.
func TestReleaseFreeMemory_NoForcedGCForLittle(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan struct{})
		go func() { releaseFreeMemory(ctx); close(done) }()
		debug.FreeOSMemory() // nothing free and held from here
		if free := heapFree(); free >= freeMemoryMin {
			t.Skipf("%d bytes free and held after FreeOSMemory", free)
		}
		before := gcCycles()
		runtime.GC() // a GC ran, with little to give back
		after := gcCycles()
		time.Sleep(freeMemoryEvery)
		synctest.Wait()
		if n := gcCycles(); n != after {
			t.Errorf("%d GCs after the release tick (%d before it): a forced GC for %d bytes free", n-after, after-before, heapFree())
		}
		cancel()
		<-done
	})
}
