package main

import (
	"fmt"
	"time"
)

// The sizes above 1000 (make bench runs 5000) measure how the cost grows
// with N, within make bench's 30 minutes: one repetition for everyone,
// fewer kills, a shorter steady window, fewer timed writes, only the
// scenarios with a target there (converge and stop all, the steady state,
// the API, restarts, a change; one app of N replicas), and only the peers
// whose smaller sizes say they fit the budget. The report says so.
const (
	maxSize = 10000 // the largest -sizes the harness accepts
	// largeN: a size above it is large.
	largeN = 1000
	// largeKills, largeSteady and largeWrites are the kills, the steady
	// window and the timed manifest writes at a large size, at most.
	largeKills  = 10
	largeSteady = 20 * time.Second
	largeWrites = 20
	// largeBudget is the most a peer's converge and stop all, extrapolated
	// linearly from its largest smaller size, may take at a large size.
	largeBudget = 60 * time.Second
)

func large(n int) bool { return n > largeN }

// repsAt is the converge and stop-all repetitions of peer at n.
func (b *bench) repsAt(peer string, n int) int {
	if large(n) || (n >= largeN && peer != "proclet") {
		return 1 // PM2 alone needs a minute to stop 1000
	}
	return b.cfg.Reps
}

// floorReps is the floor's measurements at n at the start of the run.
func floorReps(n int) int {
	if large(n) {
		return 1
	}
	return 3
}

func (b *bench) killsAt(n int) int {
	if large(n) {
		return min(b.cfg.Kills, largeKills)
	}
	return b.cfg.Kills
}

func (b *bench) steadyAt(n int) time.Duration {
	if large(n) {
		return min(b.cfg.Steady, largeSteady)
	}
	return b.cfg.Steady
}

func (b *bench) writesAt(n int) int {
	if large(n) {
		return min(b.cfg.LatWrites, largeWrites)
	}
	return b.cfg.LatWrites
}

// skipLarge says why peer is not measured at n ("" when it is): runit
// cannot hold more than 1000 services, and a peer whose converge and stop
// all at its largest smaller size, scaled to n, would take more than
// largeBudget is left out (PM2 needed 73 s to stop 1000).
func (b *bench) skipLarge(peer string, n int) string {
	switch {
	case !large(n) || peer == "proclet":
		return ""
	case peer == "runit":
		return fmt.Sprintf("cannot: runsvdir supervises at most %d services (MAXSERVICES)", largeN)
	}
	prev := 0
	for _, m := range b.cfg.Sizes {
		if _, ok := b.res.value(peer, m, "converge_ms"); ok && m < n {
			prev = m
		}
	}
	if prev == 0 {
		return ""
	}
	c, _ := b.res.value(peer, prev, "converge_ms")
	s, ok := b.res.value(peer, prev, "stop_ms")
	if !ok {
		s = 0
	}
	est := time.Duration((c + s) * float64(n) / float64(prev) * float64(time.Millisecond))
	if est <= largeBudget {
		return ""
	}
	return fmt.Sprintf("skipped: converge + stop all took %.1f s at N = %d, so ~%.0f s at %d, over make bench's budget of %s a peer at a size above %d",
		(c+s)/1000, prev, est.Seconds(), n, largeBudget, largeN)
}

// procletTop is the largest size the daemon has the descriptors for:
// manifest write → exec is timed beside it, and -profile profiles it.
func (b *bench) procletTop() int {
	out := 0
	for _, n := range b.cfg.Sizes {
		if daemonFits(n) == nil {
			out = n
		}
	}
	return out
}

// skipSize records why peer is not measured at n, when it is not: too
// slow for a large size, too many workloads for the memory available, or
// (proclet) too many instances for the descriptors the daemon may open.
func (b *bench) skipSize(peer string, n int) bool {
	why := b.skipLarge(peer, n)
	if err := daemonFits(n); why == "" && peer == "proclet" && err != nil {
		why = "cannot: " + err.Error()
	}
	if why == "" {
		if err := b.fits(n); err != nil {
			why = "cannot: " + err.Error()
		}
	}
	if why == "" {
		return false
	}
	b.logf("%s-%d: %s", peer, n, why)
	b.missAll(peer, n, why, "converge_ms")
	return true
}

// largeNote is the table's note on what the sizes above 1000 leave out.
func (b *bench) largeNote() string {
	var ls []int
	for _, n := range b.cfg.Sizes {
		if large(n) {
			ls = append(ls, n)
		}
	}
	if len(ls) == 0 {
		return ""
	}
	return fmt.Sprintf("At N = %v (above %d): 1 repetition, %d kills, a %s steady window, %d timed writes, "+
		"no daemon SIGTERM or probes scenario; peers whose smaller sizes extrapolate past %s are skipped.\n\n",
		ls, largeN, min(b.cfg.Kills, largeKills), min(b.cfg.Steady, largeSteady), min(b.cfg.LatWrites, largeWrites), largeBudget)
}
