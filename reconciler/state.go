package reconciler

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"time"

	"proclet.dev/proclet/internal/boundedfile"
)

// saveEvery is how long after a change the state file is written (with
// the changes made meanwhile): soon enough that a daemon killed right
// after starting instances still knows them, late enough that a cold start
// of a thousand apps is a few writes and a crash's restart never has the
// write beside it.
const saveEvery = 200 * time.Millisecond

// stateVersion is bumped when the file's meaning changes.
const stateVersion = 1

// savedState is what the reconciler remembers across daemon restarts: per
// app its generation and revision, and per ordinal the slot (restarts,
// backoff, last exit), so that a new daemon honours a crash loop's
// nextStartAt instead of restarting in a burst and keeps
// counting restarts.
type savedState struct {
	Version int                 `json:"version"`
	SavedAt time.Time           `json:"savedAt"`
	Apps    map[string]savedApp `json:"apps"`
}

type savedApp struct {
	Generation int64 `json:"generation"`
	// Created is when the app was first applied (creationTimestamp).
	Created  time.Time    `json:"created,omitzero"`
	Revision string       `json:"revision"`
	Slots    map[int]slot `json:"slots,omitempty"`
	// Path is the manifest file that provided the app (SourcedApp.Path):
	// of two files defining one name, the one that held it keeps it across
	// a restart (Owners), instead of the lexically first taking it over and
	// rolling the adopted instances to its spec.
	Path string `json:"path,omitempty"`
	// Job are a Job's or CronJob's runs (job.go): a finished run is never
	// run again by the next daemon.
	Job *jobState `json:"job,omitempty"`
	// Kind is a Job's or CronJob's kind ("": an App).
	Kind string `json:"kind,omitempty"`
}

// maxStateFile bounds what is read of the state file (16 MiB): an app of
// one instance is about 380 bytes with every slot field set, so 5000
// instances take under 2 MB.
const maxStateFile = 16 << 20

// loadState reads the state file; a missing file is an empty state; one
// that is not a regular file, is over maxStateFile or is corrupt is an
// error (the caller says so, moves it aside and starts empty).
func loadState(path string) (map[string]savedApp, error) {
	b, err := boundedfile.Read(path, maxStateFile)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reconciler state: %w", err)
	}
	var s savedState
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("reconciler state %s is corrupt: %w", path, err)
	}
	if s.Version != stateVersion {
		return nil, fmt.Errorf("reconciler state %s has version %d, want %d", path, s.Version, stateVersion)
	}
	return s.Apps, nil
}

// restore loads the state file into r.apps (without desired state: the
// first snapshot brings that). Caller: New, before Run.
func (r *Reconciler) restore() {
	if r.stateFile == "" {
		return
	}
	apps, err := loadState(r.stateFile)
	if err != nil {
		// Moved aside, or the next save could not replace a folder, and
		// a bad file would be read again at every start.
		msg := err.Error()
		attrs := []any{"err", err}
		if aside, merr := boundedfile.MoveAside(r.stateFile, r.now()); merr != nil {
			attrs = append(attrs, "move_err", merr)
		} else {
			attrs = append(attrs, "moved_to", aside)
			msg += "; moved to " + aside
		}
		r.log.Error("starting without the saved reconciler state: instances are found by the runtime, restart counts and backoff start over", attrs...)
		r.record(Event{Time: r.now(), Type: "Warning", Reason: "StateCorrupt", Object: r.stateFile, Message: msg})
		return
	}
	for name, a := range apps {
		r.apps[name] = &appState{desiredApp: desiredApp{generation: a.Generation, revision: a.Revision, path: a.Path, created: a.Created}, slots: a.Slots, job: a.Job, kind: a.Kind}
	}
}

// Owners returns, per app name, the manifest file that provided it, as
// saved by the last daemon (and updated by every snapshot since): the
// watcher's duplicate-name rule starts from it (watchers.Options.Owners).
func (r *Reconciler) Owners() map[string]string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make(map[string]string, len(r.apps))
	for name, st := range r.apps {
		if st.path != "" {
			out[name] = st.path
		}
	}
	return out
}

// savedEncoding is an app's part of the state file as last encoded, and
// what it was encoded from (the slots as a slice: a small map costs ~1 KB,
// times a thousand apps).
type savedEncoding struct {
	generation int64
	revision   string
	path       string
	created    time.Time
	slots      []ordinalSlot
	kind       string
	job        *jobState // replaced, never mutated, once stored: compared by pointer
	json       []byte    // "name":{...}
}

type ordinalSlot struct {
	ordinal int
	slot    slot
}

// same reports whether an app's saved part would encode as e does.
func (e *savedEncoding) same(a savedApp) bool {
	if e.generation != a.Generation || e.revision != a.Revision || e.path != a.Path || !e.created.Equal(a.Created) || len(e.slots) != len(a.Slots) || e.job != a.Job || e.kind != a.Kind {
		return false
	}
	for _, saved := range e.slots {
		if sl, ok := a.Slots[saved.ordinal]; !ok || !sameSlot(saved.slot, sl) {
			return false
		}
	}
	return true
}

// stateEncoder encodes the state file, keeping each app's part as last
// encoded: with a thousand apps, encoding them all at every save cost
// ~5 ms. Its calls are one at a time (the saver's lock).
type stateEncoder struct {
	saved map[string]*savedEncoding
}

// encodeState is the state file's content: the reconciler's state, read
// under r.mu. Called by the saver, one call at a time.
func (r *Reconciler) encodeState() ([]byte, error) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.enc.encode(r.apps, r.now())
}

// encode is the state file's content for apps at now, as json.Marshal of a
// savedState gives it, reusing the encoding of every app that did not
// change since the last call.
func (e *stateEncoder) encode(apps map[string]*appState, now time.Time) ([]byte, error) {
	names := make([]string, 0, len(apps))
	for name := range apps {
		names = append(names, name)
	}
	slices.Sort(names)
	at, err := json.Marshal(now)
	if err != nil {
		return nil, err
	}
	cache := make(map[string]*savedEncoding, len(names))
	size := 64
	for _, name := range names {
		st := apps[name]
		cur := savedApp{Generation: st.generation, Revision: st.revision, Slots: st.slots, Path: st.path, Created: st.created, Job: st.job, Kind: st.kind}
		enc := e.saved[name]
		if enc == nil || !enc.same(cur) {
			key, _ := json.Marshal(name) // a string: no error
			val, err := json.Marshal(cur)
			if err != nil {
				return nil, err
			}
			enc = &savedEncoding{generation: cur.Generation, revision: cur.Revision, path: cur.Path, created: cur.Created, job: cur.Job, kind: cur.Kind,
				json: slices.Concat(key, []byte{':'}, val), slots: make([]ordinalSlot, 0, len(cur.Slots))}
			for o, sl := range cur.Slots {
				enc.slots = append(enc.slots, ordinalSlot{o, sl})
			}
		}
		cache[name] = enc
		size += len(enc.json) + 1
	}
	e.saved = cache
	b := make([]byte, 0, size)
	b = fmt.Appendf(b, `{"version":%d,"savedAt":%s,"apps":{`, stateVersion, at)
	for i, name := range names {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, cache[name].json...)
	}
	return append(b, "}}"...), nil
}

// sameSlot reports whether two slots encode the same (the last exit by
// value, the times with their location).
func sameSlot(a, b slot) bool {
	ea, eb := a.LastExit, b.LastExit
	a.LastExit, b.LastExit = nil, nil
	return a == b && (ea == nil) == (eb == nil) && (ea == nil || *ea == *eb)
}
