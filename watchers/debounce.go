package watchers

import "time"

// debouncer decides when file-system events cause a scan. It is pure: the
// caller passes the time and arms a timer for Due.
//
// The first event after a quiet period scans at once (a single save applies
// without delay). Events during the window that scan opens coalesce into
// one more scan at the window's end, which opens a new window: a burst of
// any size costs at most one scan per window, plus one.
//
// A scan whose result would remove an app is held back until the directory
// has been quiet for a whole window and a scan a window after the first
// that saw the removal still sees it (Removal): saves that rename the old
// file away first (vim) or truncate it look like a deletion for a moment,
// and a snapshot must not stop an app for that. The second condition
// covers a scan that raced a change whose event had not arrived yet (a
// resync, or a scan already reading when the save began).
type debouncer struct {
	window    time.Duration
	until     time.Time // end of the current window; events before it coalesce
	lastEvent time.Time
	pending   bool      // a scan is due: an event no scan covered yet, or a Follow
	events    bool      // events are among what is pending (not only a Follow)
	removal   time.Time // when a scan first saw the removal being held back; zero when none is
}

// Event records an event at now and reports whether to scan now.
func (d *debouncer) Event(now time.Time) bool {
	d.lastEvent = now
	if now.Before(d.until) {
		d.pending, d.events = true, true
		return false
	}
	d.pending, d.events = false, false
	d.until = now.Add(d.window)
	return true
}

// Due says when to call Fire; ok is false when no scan is pending.
func (d *debouncer) Due() (at time.Time, ok bool) { return d.until, d.pending }

// Fire is called at (or after) Due and reports whether to scan now.
func (d *debouncer) Fire(now time.Time) bool {
	if !d.pending || now.Before(d.until) {
		return false
	}
	if d.events { // a scan for a burst opens the next window
		d.until = now.Add(d.window)
	}
	d.pending, d.events = false, false
	return true
}

// Scanned records a scan not caused by events (start, resync, Rescan, a
// watch error) that started at now: it covers every event before it. It
// opens no window of its own: the first edit after the daemon's start (or
// after a resync) applies at once, not up to a window later; bursts are
// still coalesced by the windows their own events open.
func (d *debouncer) Scanned(time.Time) {
	d.pending, d.events = false, false
}

// Follow asks for one more scan at the end of the window (a new folder was
// watched only after the scan read it). Like a forced scan, it opens no
// window of its own (at the daemon's start it would delay the first edit).
func (d *debouncer) Follow() { d.pending = true }

// Quiet reports whether no event arrived in the window before now.
func (d *debouncer) Quiet(now time.Time) bool { return !now.Before(d.lastEvent.Add(d.window)) }

// Removal is called for a scan, started at now, whose result removes an
// app; it reports whether to emit it. It does once the directory has been
// quiet for a window and a window has passed since a scan first saw the
// removal; otherwise the scan is held back and another is due when both
// can hold.
func (d *debouncer) Removal(now time.Time) bool {
	if d.removal.IsZero() {
		d.removal = now
	}
	if d.Quiet(now) && !now.Before(d.removal.Add(d.window)) {
		return true
	}
	d.pending, d.events = true, true
	d.until = d.lastEvent.Add(d.window)
	if at := d.removal.Add(d.window); at.After(d.until) {
		d.until = at
	}
	return false
}

// Emitted records that a scan's result was emitted: no removal is held.
func (d *debouncer) Emitted() { d.removal = time.Time{} }
