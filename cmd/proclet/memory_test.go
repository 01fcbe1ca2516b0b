package main

import (
	"context"
	"runtime"
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
