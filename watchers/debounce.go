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
// A scan whose result would remove an app is held back (Removal) until a
// scan confirms it once the directory has been quiet for a hold, counted
// from the last event and from the first scan that saw the removal: saves
// that rename the old file away first (vim) or unlink it and create it
// again (git checkout) look like a deletion for a moment, and a snapshot
// must not stop an app for that. The hold is short (quiet) for a removal
// that an event announced, since the two steps of a save come microseconds
// apart; it doubles with each event that comes while the removal is held,
// up to the window, and is the whole window at once when an editor's
// backup, probe or swap file (saveMark) was touched in the last window
// (a save in progress) or when the scan was not caused by events (a
// resync, Rescan or watch error may have raced a change whose events have
// not arrived yet).
type debouncer struct {
	window    time.Duration
	quiet     time.Duration // the shortest hold of a removal; 0 or over window: window
	until     time.Time     // end of the current window; events before it coalesce
	lastEvent time.Time
	leftover  time.Time // the last event about an editor's leftover
	pending   bool      // a scan is due: an event no scan covered yet, or a Follow
	events    bool      // events are among what is pending (not only a Follow)
	removal   time.Time // when a scan first saw the removal being held back; zero when none is
	hold      time.Duration
}

// Event records an event at now and reports whether to scan now.
func (d *debouncer) Event(now time.Time) bool {
	d.lastEvent = now
	if !d.removal.IsZero() {
		d.hold = min(2*d.hold, d.window) // events keep coming: hold longer
	}
	if now.Before(d.until) {
		d.pending, d.events = true, true
		d.holdUntil()
		return false
	}
	d.pending, d.events = false, false
	d.until = now.Add(d.window)
	return true
}

// Leftover records an event about an editor's or package manager's
// leftover at now: it causes no scan, but a save may be in progress, so a
// removal seen now or within a window holds for the whole window.
func (d *debouncer) Leftover(now time.Time) {
	d.leftover = now
	if !d.removal.IsZero() {
		d.hold = d.window
		if d.pending {
			d.holdUntil()
		}
	}
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

// Removal is called for a scan, started at now, whose result removes an
// app; forced says the scan was not caused by events. It reports whether
// to emit it: once no event has come for the hold and the hold has passed
// since a scan first saw the removal. Otherwise the scan is held back and
// another is due when both can hold.
func (d *debouncer) Removal(now time.Time, forced bool) bool {
	if d.removal.IsZero() {
		d.removal = now
		d.hold = d.quiet
		if forced || d.hold <= 0 || d.hold > d.window || now.Sub(d.leftover) < d.window {
			d.hold = d.window
		}
	}
	if !now.Before(d.confirmAt()) {
		return true
	}
	d.pending, d.events = true, true
	d.until = d.confirmAt()
	return false
}

// confirmAt is when a scan may confirm the held removal.
func (d *debouncer) confirmAt() time.Time {
	at := d.lastEvent.Add(d.hold)
	if r := d.removal.Add(d.hold); r.After(at) {
		at = r
	}
	return at
}

// holdUntil moves the pending scan to when the held removal (if any) may
// be confirmed, when that is later: a scan before it would be held again.
func (d *debouncer) holdUntil() {
	if d.removal.IsZero() {
		return
	}
	if at := d.confirmAt(); at.After(d.until) {
		d.until = at
	}
}

// Emitted records that a scan's result was emitted: no removal is held.
func (d *debouncer) Emitted() { d.removal, d.hold = time.Time{}, 0 }
