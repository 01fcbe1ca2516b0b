package reconciler

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"time"

	"proclet.dev/proclet/internal/atomicfile"
	"proclet.dev/proclet/internal/boundedfile"
)

// stateVersion is bumped when the file's meaning changes.
const stateVersion = 1

// savedState is what the reconciler remembers across daemon restarts: per
// app its generation and revision, and per ordinal the slot (restarts,
// backoff, last exit), so that a new daemon honours a crash loop's
// nextStartAt instead of restarting in a burst (TRAPS 27) and keeps
// counting restarts.
type savedState struct {
	Version int                 `json:"version"`
	SavedAt time.Time           `json:"savedAt"`
	Apps    map[string]savedApp `json:"apps"`
}

type savedApp struct {
	Generation int64        `json:"generation"`
	Revision   string       `json:"revision"`
	Slots      map[int]slot `json:"slots,omitempty"`
	// Path is the manifest file that provided the app (SourcedApp.Path):
	// of two files defining one name, the one that held it keeps it across
	// a restart (Owners), instead of the lexically first taking it over and
	// rolling the adopted instances to its spec.
	Path string `json:"path,omitempty"`
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
		r.apps[name] = &appState{generation: a.Generation, revision: a.Revision, slots: a.Slots, path: a.Path}
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

// save writes the state file if anything changed since the last save.
// Each app's part is encoded again only when it changed (savedEncoding):
// with a thousand apps, encoding them all at every restart cost ~5 ms.
func (r *Reconciler) save() {
	if r.stateFile == "" {
		return
	}
	r.saveMu.Lock()
	defer r.saveMu.Unlock()
	r.mu.Lock()
	if !r.dirty {
		r.mu.Unlock()
		return
	}
	r.dirty = false // a change from now on is saved next time
	b, err := r.encodeStateLocked()
	r.mu.Unlock()
	if err == nil {
		err = atomicfile.Write(r.stateFile, b)
	}
	if err != nil {
		r.log.Error("save reconciler state", "file", r.stateFile, "err", err)
		r.mu.Lock()
		r.markDirtyLocked() // retried saveEvery from now
		r.mu.Unlock()
	}
}

// markDirtyLocked says the state changed: the save loop writes it within
// saveEvery. Caller holds r.mu for writing.
func (r *Reconciler) markDirtyLocked() {
	r.dirty = true
	select {
	case r.saveKick <- struct{}{}:
	default:
	}
}

// savedEncoding is an app's part of the state file as last encoded, and
// what it was encoded from (the slots as a slice: a small map costs ~1 KB,
// times a thousand apps).
type savedEncoding struct {
	generation int64
	revision   string
	path       string
	slots      []ordinalSlot
	json       []byte // "name":{...}
}

type ordinalSlot struct {
	ordinal int
	slot    slot
}

// same reports whether an app's saved part would encode as e does.
func (e *savedEncoding) same(a savedApp) bool {
	if e.generation != a.Generation || e.revision != a.Revision || e.path != a.Path || len(e.slots) != len(a.Slots) {
		return false
	}
	for _, saved := range e.slots {
		if sl, ok := a.Slots[saved.ordinal]; !ok || !sameSlot(saved.slot, sl) {
			return false
		}
	}
	return true
}

// encodeStateLocked is the state file's content, as json.Marshal of a
// savedState gives it, reusing the encoding of every app that did not
// change since the last save. Caller holds r.mu and r.saveMu.
func (r *Reconciler) encodeStateLocked() ([]byte, error) {
	names := make([]string, 0, len(r.apps))
	for name := range r.apps {
		names = append(names, name)
	}
	slices.Sort(names)
	at, err := json.Marshal(r.now())
	if err != nil {
		return nil, err
	}
	cache := make(map[string]*savedEncoding, len(names))
	size := 64
	for _, name := range names {
		st := r.apps[name]
		cur := savedApp{Generation: st.generation, Revision: st.revision, Slots: st.slots, Path: st.path}
		enc := r.saved[name]
		if enc == nil || !enc.same(cur) {
			key, _ := json.Marshal(name) // a string: no error
			val, err := json.Marshal(cur)
			if err != nil {
				return nil, err
			}
			enc = &savedEncoding{generation: cur.Generation, revision: cur.Revision, path: cur.Path,
				json: slices.Concat(key, []byte{':'}, val), slots: make([]ordinalSlot, 0, len(cur.Slots))}
			for o, sl := range cur.Slots {
				enc.slots = append(enc.slots, ordinalSlot{o, sl})
			}
		}
		cache[name] = enc
		size += len(enc.json) + 1
	}
	r.saved = cache
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
