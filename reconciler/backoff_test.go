package reconciler

import (
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
