package watchers

import (
	"testing"
	"time"
)

func TestDebouncer(t *testing.T) {
	const w, q = 50 * time.Millisecond, 2 * time.Millisecond
	type step struct {
		at   time.Duration // since t0
		op   string        // event | fire | scanned | removal | forced removal | leftover | follow
		want bool          // for event and fire: scan now? for removal: emit it?
	}
	tests := []struct {
		name  string
		steps []step
	}{
		{"a single event scans at once", []step{{0, "event", true}}},
		{"events in the window coalesce into one scan at its end", []step{
			{0, "event", true}, {10 * time.Millisecond, "event", false}, {40 * time.Millisecond, "event", false},
			{w, "fire", true},
		}},
		{"no trailing scan without a later event", []step{{0, "event", true}, {w, "fire", false}}},
		{"a trailing scan opens a new window", []step{
			{0, "event", true}, {10 * time.Millisecond, "event", false}, {w, "fire", true},
			{w + 10*time.Millisecond, "event", false}, {2 * w, "fire", true},
		}},
		{"an event after a quiet window scans at once", []step{
			{0, "event", true}, {w, "fire", false}, {3 * w, "event", true},
		}},
		{"fire before the window ends does nothing", []step{
			{0, "event", true}, {1, "event", false}, {w - 1, "fire", false}, {w, "fire", true},
		}},
		{"a forced scan covers earlier events", []step{
			{0, "event", true}, {10 * time.Millisecond, "event", false},
			{20 * time.Millisecond, "scanned", false}, {w, "fire", false},
			{60 * time.Millisecond, "event", true}, {70 * time.Millisecond, "event", false},
			{60*time.Millisecond + w, "fire", true},
		}},
		{"the follow scan of the daemon's start opens no window", []step{
			{0, "scanned", false}, {0, "follow", false}, {time.Millisecond, "fire", true},
			{2 * time.Millisecond, "event", true}, {3 * time.Millisecond, "event", false},
			{2*time.Millisecond + w, "fire", true},
		}},
		{"a forced scan opens no window: the first edit after the daemon's start applies at once", []step{
			{0, "scanned", false}, {time.Millisecond, "event", true}, {2 * time.Millisecond, "event", false},
			{time.Millisecond + w, "fire", true},
		}},
		{"an announced removal is confirmed once the folder was quiet for the short hold", []step{
			{0, "event", true}, {0, "removal", false},
			{q - 1, "fire", false}, {q, "fire", true}, {q, "removal", true},
		}},
		{"the hold counts from the last event and from the first scan that saw the removal", []step{
			{0, "event", true}, {30 * time.Millisecond, "event", false}, {31 * time.Millisecond, "removal", false},
			{31*time.Millisecond + q - 1, "fire", false}, {31*time.Millisecond + q, "fire", true},
			{31*time.Millisecond + q, "removal", true},
		}},
		{"an event while a removal is held doubles the hold", []step{
			{0, "event", true}, {0, "removal", false}, {time.Millisecond, "event", false},
			{time.Millisecond + 2*q - 1, "fire", false}, {time.Millisecond + 2*q, "fire", true},
			{time.Millisecond + 2*q, "removal", true},
		}},
		{"events that keep coming hold a removal up to the window", []step{
			{0, "event", true}, {0, "removal", false},
			{1 * time.Millisecond, "event", false}, {2 * time.Millisecond, "event", false},
			{3 * time.Millisecond, "event", false}, {4 * time.Millisecond, "event", false},
			{5 * time.Millisecond, "event", false}, {6 * time.Millisecond, "event", false},
			{6*time.Millisecond + w - 1, "fire", false}, {6*time.Millisecond + w, "fire", true},
			{6*time.Millisecond + w, "removal", true},
		}},
		{"a leftover touched while a removal is held (vim's backup) holds it a window", []step{
			{0, "event", true}, {0, "removal", false}, {0, "leftover", false},
			{w - 1, "fire", false}, {w, "fire", true}, {w, "removal", true},
		}},
		{"a leftover touched within the window before a removal holds it a window", []step{
			{0, "leftover", false}, {10 * time.Millisecond, "event", true}, {10 * time.Millisecond, "removal", false},
			{10*time.Millisecond + w - 1, "fire", false}, {10*time.Millisecond + w, "fire", true},
			{10*time.Millisecond + w, "removal", true},
		}},
		{"a leftover a window before a removal does not hold it longer", []step{
			{0, "leftover", false}, {w, "event", true}, {w, "removal", false},
			{w + q, "fire", true}, {w + q, "removal", true},
		}},
		{"a removal a forced scan saw after quiet is confirmed a window later", []step{
			{0, "event", true}, {time.Second, "scanned", false}, {time.Second, "forced removal", false},
			{time.Second + w - 1, "fire", false}, {time.Second + w, "fire", true}, {time.Second + w, "removal", true},
		}},
		{"a forced scan's removal: an event during the confirmation window delays it", []step{
			{time.Second, "forced removal", false}, {time.Second + 10*time.Millisecond, "event", false},
			{time.Second + w, "fire", false}, {time.Second + 10*time.Millisecond + w - 1, "fire", false}, {time.Second + 10*time.Millisecond + w, "fire", true},
			{time.Second + 10*time.Millisecond + w, "removal", true},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t0 := time.Unix(1000, 0)
			d := debouncer{window: w, quiet: q}
			for i, s := range tt.steps {
				now := t0.Add(s.at)
				var got bool
				switch s.op {
				case "event":
					got = d.Event(now)
				case "fire":
					got = d.Fire(now)
				case "scanned":
					d.Scanned(now)
				case "removal":
					got = d.Removal(now, false)
				case "forced removal":
					got = d.Removal(now, true)
				case "leftover":
					d.Leftover(now)
				case "follow":
					d.Follow()
				}
				if got != s.want {
					t.Fatalf("step %d (%s at %v) = %v, want %v", i, s.op, s.at, got, s.want)
				}
			}
		})
	}
}

func TestDebouncer_RemovalIsForgottenOnceEmitted(t *testing.T) {
	const w, q = 50 * time.Millisecond, 2 * time.Millisecond
	t0 := time.Unix(1000, 0)
	d := debouncer{window: w, quiet: q}
	d.Event(t0)
	if d.Removal(t0, false) {
		t.Fatal("a removal emitted right after an event")
	}
	at, ok := d.Due()
	if !ok || !at.Equal(t0.Add(q)) {
		t.Fatalf("Due after a held removal = %v, %v; want %v, true", at, ok, t0.Add(q))
	}
	if !d.Fire(at) || !d.Removal(at, false) {
		t.Fatal("not due and emitting the removal the short hold after the last event")
	}
	d.Emitted()
	later := at.Add(time.Hour)
	if d.Removal(later, true) {
		t.Fatal("a new removal was emitted without waiting: the last one was not forgotten")
	}
	if due, ok := d.Due(); !ok || !due.Equal(later.Add(w)) {
		t.Fatalf("Due after a forced scan's removal = %v, %v; want a window later", due.Sub(later), ok)
	}
}

// A storm of 1000 events over a second costs at most one scan per window
// plus one, driven as the loop drives it (Fire at Due).
func TestDebouncer_StormIsBounded(t *testing.T) {
	const w = 50 * time.Millisecond
	t0 := time.Unix(1000, 0)
	d := debouncer{window: w}
	scans := 0
	for i := range 1000 {
		now := t0.Add(time.Duration(i) * time.Millisecond)
		if at, ok := d.Due(); ok && !now.Before(at) && d.Fire(at) {
			scans++
		}
		if d.Event(now) {
			scans++
		}
	}
	last := time.Time{}
	for {
		at, ok := d.Due()
		if !ok {
			break
		}
		if d.Fire(at) {
			scans++
			last = at
		}
	}
	if max := int(time.Second/w) + 1; scans > max || scans < 2 {
		t.Fatalf("scans = %d, want 2..%d", scans, max)
	}
	if end := t0.Add(999 * time.Millisecond); last.Before(end) {
		t.Fatalf("last scan at %v, before the last event at %v", last, end)
	}
}
