package main

import (
	"context"
	"runtime/debug"
	"runtime/metrics"
	"time"
)

// freeMemoryEvery is how often the daemon may collect its garbage and
// return every free heap page to the OS (debug.FreeOSMemory). The Go
// runtime otherwise keeps free pages up to its heap goal for reuse, and
// gives the rest back only gradually: after a burst (the first converge
// of 1000 apps decodes, plans and starts them all) the daemon's RSS stays
// megabytes above what it uses. At 1000 idle instances: 45–46 → 41 MiB.
//
// It does so only when a GC ran since the last time (the heap churned)
// and at least freeMemoryMin of the heap is free and still held: an idle
// daemon, whose only GC is the runtime's every two minutes, has a few
// hundred KiB free after it, which the runtime's own scavenger returns,
// and a forced GC (10–40 ms of CPU at 1000 instances) for them doubled
// what its collector cost.
const freeMemoryEvery = 30 * time.Second

// freeMemoryMin is the free heap worth a forced GC to give back.
const freeMemoryMin = 4 << 20

// releaseFreeMemory returns free heap memory to the OS, as said above,
// until ctx is done.
func releaseFreeMemory(ctx context.Context) {
	t := time.NewTicker(freeMemoryEvery)
	defer t.Stop()
	last := gcCycles()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if n := gcCycles(); n != last {
				if heapFreeHeld() >= freeMemoryMin {
					debug.FreeOSMemory()
				}
				last = gcCycles() // counting the GC FreeOSMemory ran
			}
		}
	}
}

// gcCycles is how many GC cycles the process completed.
func gcCycles() uint64 { return readUint64Metric("/gc/cycles/total:gc-cycles") }

// heapFreeHeld is the heap memory free and not returned to the OS.
func heapFreeHeld() uint64 { return readUint64Metric("/memory/classes/heap/free:bytes") }

func readUint64Metric(name string) uint64 {
	s := []metrics.Sample{{Name: name}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindUint64 {
		return 0
	}
	return s[0].Value.Uint64()
}
