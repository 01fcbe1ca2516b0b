package main

import (
	"runtime/debug"
	"sync"

	"proclet.dev/proclet/apis/v1alpha1"
)

// A large manifest file is decoded with room on the heap. The daemon runs
// at a GC percent of daemonGCPercent, so a daemon with little live heap (a
// new one, or one with few apps) has a heap target of a few MiB; decoding a
// file of 1000 documents allocates ~16 MiB of short-lived garbage, which
// then costs a collection every few MiB: the decode took twice as long as
// with a target of 5× the live heap (BenchmarkDecodeRoomy). While such a
// file decodes, the GC percent is raised so that the target is the live
// heap plus up to roomyHeadroom, never more than roomyGCPercent and never
// less than the daemon's own; it is put back when the last such decode
// ends. A daemon with a large live heap already has that room and is left
// as it is. The garbage is collected at the daemon's own percent after,
// and releaseFreeMemory gives the pages back.
const (
	roomyFileBytes = 128 << 10 // files from this size are decoded with room
	roomyHeadroom  = 16 << 20  // the room a decode may take above the live heap
	roomyGCPercent = 400       // the most the percent is raised to
)

// gcRoom counts the large decodes under way and sets the GC percent for
// them: raised from the first, put back after the last.
type gcRoom struct {
	base    int           // the daemon's GC percent
	set     func(int) int // debug.SetGCPercent
	live    func() uint64 // the live heap, bytes
	mu      sync.Mutex
	running int
}

// newGCRoom returns the daemon's gcRoom around a GC percent of base.
func newGCRoom(base int) *gcRoom {
	return &gcRoom{base: base, set: debug.SetGCPercent, live: liveHeap}
}

// roomyPercent is the GC percent that gives a heap of live bytes
// roomyHeadroom above it, within [base, roomyGCPercent].
func roomyPercent(base int, live uint64) int {
	p := roomyGCPercent
	if live > 0 {
		p = int(min(uint64(roomyGCPercent), roomyHeadroom*100/live))
	}
	return max(p, base)
}

func (g *gcRoom) enter() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.running == 0 {
		if p := roomyPercent(g.base, g.live()); p > g.base {
			g.set(p)
		}
	}
	g.running++
}

func (g *gcRoom) leave() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.running--
	if g.running == 0 {
		g.set(g.base)
	}
}

// decode wraps a manifest decoder: files of roomyFileBytes or more are
// decoded with room on the heap.
func (g *gcRoom) decode(decode func(string, []byte) ([]v1alpha1.App, error)) func(string, []byte) ([]v1alpha1.App, error) {
	return func(path string, data []byte) ([]v1alpha1.App, error) {
		if len(data) < roomyFileBytes {
			return decode(path, data)
		}
		g.enter()
		defer g.leave()
		return decode(path, data)
	}
}

// liveHeap is the heap the last GC found live.
func liveHeap() uint64 { return readUint64Metric("/gc/heap/live:bytes") }
