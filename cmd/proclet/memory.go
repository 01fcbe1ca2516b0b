package main

import (
	"context"
	"runtime/debug"
	"time"
)

// freeMemoryEvery is how often the daemon collects its garbage and
// returns every free heap page to the OS (debug.FreeOSMemory). The Go
// runtime otherwise keeps free pages up to its heap goal for reuse, and
// gives the rest back only gradually: after a burst (the first converge
// of 1000 apps decodes, plans and starts them all) the daemon's RSS stays
// megabytes above what it uses. At 1000 idle instances: 45–46 → 41 MiB
// RSS, with no measurable CPU (one GC of a ~18 MiB heap every 30 s).
const freeMemoryEvery = 30 * time.Second

// releaseFreeMemory returns free heap memory to the OS every
// freeMemoryEvery until ctx is done.
func releaseFreeMemory(ctx context.Context) {
	t := time.NewTicker(freeMemoryEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			debug.FreeOSMemory()
		}
	}
}
