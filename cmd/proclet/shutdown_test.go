package main

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"
)

// TestShutdownWaitSaturates: the default shutdown wait is the longest
// grace plus the slack for any grace, never a wrapped negative wait (which
// ended the graceful stop at once and left every instance running).
func TestShutdownWaitSaturates(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	graces := []time.Duration{0, time.Second, 30 * time.Second, math.MaxInt64 - shutdownSlack,
		math.MaxInt64 - shutdownSlack + 1, math.MaxInt64 - 1, math.MaxInt64}
	for range 1000 {
		graces = append(graces, time.Duration(r.Int64N(math.MaxInt64)))
	}
	for _, g := range graces {
		w := shutdownWait(g)
		switch {
		case w < g:
			t.Fatalf("shutdownWait(%d) = %d: shorter than the grace", g, w)
		case g <= math.MaxInt64-shutdownSlack && w != g+shutdownSlack:
			t.Fatalf("shutdownWait(%v) = %v, want grace + %v", g, w, shutdownSlack)
		}
	}
}
