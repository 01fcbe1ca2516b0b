package watchers

import "time"

// Bounds on waiting for a writer to close a file (writes.held).
const (
	// writeQuiet: a file written to and not closed is read anyway once it
	// has not been written for this long (a writer that keeps it open).
	writeQuiet = 2 * time.Second
	// writeMaxHold: and at the latest this long after the first write
	// seen, however often it is written (a file appended to forever).
	writeMaxHold = 10 * time.Second
)

// writes tracks the manifest files open for writing: written to (or
// truncated) in place and not closed yet. A scan reads such a file's last
// complete content instead of what is there now (reader.hold), so a tool
// that truncates a manifest and writes it in chunks (`cat > file`, an
// editor saving in place, a config agent) is applied once, when it closes
// the file, never prefix by prefix. A file renamed over the path (an
// atomic save) was closed before it got there: it is read at once.
// Only the loop's goroutine uses it.
type writes struct {
	open map[string]writing // real path -> its writes since its last close
}

type writing struct{ first, last time.Time }

// apply records events seen at now; want filters the paths worth
// tracking (manifests). It reports whether a tracked file was closed or
// replaced: its new content is ready to read.
func (w *writes) apply(evs []writeEvent, now time.Time, want func(path string) bool) (ready bool) {
	for _, ev := range evs {
		switch ev.op {
		case opWrite:
			if !want(ev.path) {
				continue
			}
			if w.open == nil {
				w.open = map[string]writing{}
			}
			o, ok := w.open[ev.path]
			if !ok {
				o.first = now
			}
			o.last = now
			w.open[ev.path] = o
		case opClose, opReplaced:
			if _, ok := w.open[ev.path]; ok {
				delete(w.open, ev.path)
				ready = true
			}
		}
	}
	return ready
}

// held reports whether path is being written at now: read its last
// complete content instead.
func (w *writes) held(path string, now time.Time) bool {
	o, ok := w.open[path]
	return ok && now.Before(o.expiry())
}

func (o writing) expiry() time.Time {
	at := o.last.Add(writeQuiet)
	if limit := o.first.Add(writeMaxHold); limit.Before(at) {
		at = limit
	}
	return at
}

// due says when the first file held is to be read anyway.
func (w *writes) due() (at time.Time, ok bool) {
	for _, o := range w.open {
		if e := o.expiry(); !ok || e.Before(at) {
			at, ok = e, true
		}
	}
	return at, ok
}

// expire forgets the files held past their bounds at now, and reports
// whether there were any (they are to be read now).
func (w *writes) expire(now time.Time) (any bool) {
	for p, o := range w.open {
		if !now.Before(o.expiry()) {
			delete(w.open, p)
			any = true
		}
	}
	return any
}

// reset forgets every file: events were lost, what is open is unknown.
func (w *writes) reset() { w.open = nil }
