package reconciler

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"
)

func TestBackoff_CurveIsImmediateThenDoublesUpToMax(t *testing.T) {
	p := backoffPolicy{initial: time.Second, max: 5 * time.Minute, resetAfter: 10 * time.Minute}
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	want := []time.Duration{0, 1, 2, 4, 8, 16, 32, 64, 128, 256, 300, 300}
	failures := 0
	now := start
	for i, w := range want {
		var next time.Time
		failures, next = p.failed(failures, now, now.Add(time.Millisecond))
		if got := next.Sub(now.Add(time.Millisecond)); got != w*time.Second {
			t.Fatalf("failure %d: delay %v, want %v", i+1, got, w*time.Second)
		}
		now = next
	}
}

func TestBackoff_LongRunResetsTheCount(t *testing.T) {
	p := backoffPolicy{initial: time.Second, max: 5 * time.Minute, resetAfter: 10 * time.Minute}
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	failures := 5
	// A run of 11 minutes, then a crash: the next start is immediate...
	failures, next := p.failed(failures, t0, t0.Add(11*time.Minute))
	if got, want := next, t0.Add(11*time.Minute); !got.Equal(want) {
		t.Fatalf("after a long run: next %v, want %v (immediate)", got, want)
	}
	// ...and a quick crash after that waits initial.
	at := next.Add(time.Second)
	_, next = p.failed(failures, next, at)
	if got, want := next.Sub(at), time.Second; got != want {
		t.Fatalf("second crash: delay %v, want %v", got, want)
	}
}

func TestBackoff_StartFailureWithoutRunCountsUp(t *testing.T) {
	p := backoffPolicy{initial: 2 * time.Second, max: 10 * time.Second, resetAfter: time.Minute}
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	failures := 0
	var delays []time.Duration
	for range 5 {
		var next time.Time
		failures, next = p.failed(failures, time.Time{}, now)
		delays = append(delays, next.Sub(now))
		now = next
	}
	want := []time.Duration{0, 2 * time.Second, 4 * time.Second, 8 * time.Second, 10 * time.Second}
	for i := range want {
		if delays[i] != want[i] {
			t.Fatalf("delays %v, want %v", delays, want)
		}
	}
}

// TestBackoff_AnyInputStaysInRange checks that for any policy (negative,
// zero, huge initial, max, resetAfter) and any failure count up to
// math.MaxInt, 0 <= delay <= max, the delay never shrinks as failures grow,
// and the next start is never before the failure nor more than the delay
// after it. The first cases are the overflows the arithmetic once had.
func TestBackoff_AnyInputStaysInRange(t *testing.T) {
	year := 365 * 24 * time.Hour
	edges := []time.Duration{math.MinInt64, -time.Hour, -1, 0, 1, time.Millisecond, 3 * time.Second, time.Hour,
		100 * year, 290 * year, math.MaxInt64 / 2, math.MaxInt64 - 1, math.MaxInt64}
	counts := []int{math.MinInt, -1, 0, 1, 2, 3, 10, 31, 62, 63, 64, 65, 100, 1 << 20, math.MaxInt - 1, math.MaxInt}
	times := []time.Time{{}, time.Unix(0, 0), time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC), time.Unix(math.MaxInt64/2, 0)}
	check := func(p backoffPolicy, failures int, at time.Time) {
		t.Helper()
		ceil := max(p.max, 0)
		d := p.delay(failures)
		if d < 0 || d > ceil {
			t.Fatalf("policy %+v, failures %d: delay %v, want within [0, %v]", p, failures, d, ceil)
		}
		if failures < math.MaxInt {
			if next := p.delay(failures + 1); next < d {
				t.Fatalf("policy %+v: delay %v after %d failures, %v after one more", p, d, failures, next)
			}
		}
		n, next := p.failed(failures, time.Time{}, at)
		if n < 1 {
			t.Fatalf("policy %+v, failures %d: count %d after a failure", p, failures, n)
		}
		if next.Before(at) || next.Sub(at) > ceil {
			t.Fatalf("policy %+v, failures %d, at %v: next start %v, want within [at, at+%v]", p, failures, at, next, ceil)
		}
	}
	// The case first: a max of a few hundred years, an initial of
	// a few seconds.
	for f := range 200 {
		check(backoffPolicy{initial: 3 * time.Second, max: 290 * year, resetAfter: time.Hour}, f, times[2])
	}
	for _, initial := range edges {
		for _, mx := range edges {
			for _, f := range counts {
				check(backoffPolicy{initial: initial, max: mx, resetAfter: 10 * time.Minute}, f, times[2])
			}
		}
	}
	seed := uint64(time.Now().UnixNano())
	rng := rand.New(rand.NewPCG(seed, seed))
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("random policies from seed %d", seed)
		}
	})
	pick := func() time.Duration {
		if rng.IntN(2) == 0 {
			return edges[rng.IntN(len(edges))]
		}
		return time.Duration(rng.Int64()) >> rng.IntN(64) * time.Duration(1-2*rng.IntN(2))
	}
	for range 20000 {
		p := backoffPolicy{initial: pick(), max: pick(), resetAfter: pick()}
		f := counts[rng.IntN(len(counts))]
		if rng.IntN(2) == 0 {
			f = rng.IntN(math.MaxInt)
		}
		at := times[rng.IntN(len(times))]
		check(p, f, at)
	}
}
