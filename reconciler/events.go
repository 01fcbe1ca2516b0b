package reconciler

import (
	"sync"

	"proclet.dev/proclet/apis/v1alpha1"
)

// Event is one thing that happened, for people: a start, an exit, a stop,
// a backoff, a manifest error. Events are kept in a bounded ring. The type
// lives in apis so that the server can name it without importing us.
type Event = v1alpha1.Event

// ring is a bounded, concurrency-safe ring of events: the oldest goes when
// it is full, so the daemon's memory stays bounded whatever happens.
type ring struct {
	// mu guards the fields below.
	mu    sync.Mutex
	buf   []Event
	next  int // where the next event goes
	count int
}

// Warn records a Warning event of the daemon itself rather than of an
// app: object names what it is about (a file), reason says what happened
// (TLSCertificateNotLoaded). It is logged as every event is.
func (r *Reconciler) Warn(object, reason, message string) {
	r.record(Event{Time: r.now(), Type: "Warning", Reason: reason, Object: object, Message: message})
}

func newRing(size int) *ring { return &ring{buf: make([]Event, size)} }

func (r *ring) add(e Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.buf[r.next] = e
	r.next = (r.next + 1) % len(r.buf)
	r.count = min(r.count+1, len(r.buf))
}

// list returns up to limit events (all when limit <= 0), newest first,
// of app only when app is not empty.
func (r *ring) list(app string, limit int) []Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := []Event{}
	for i := 1; i <= r.count; i++ {
		e := r.buf[(r.next-i+len(r.buf))%len(r.buf)]
		if app != "" && e.App != app {
			continue
		}
		out = append(out, e)
		if limit > 0 && len(out) == limit {
			break
		}
	}
	return out
}
