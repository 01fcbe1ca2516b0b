package reconciler

import (
	"encoding/json"
	"fmt"
	"os"
	"time"

	"proclet.dev/proclet/runtime"
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
}

// loadState reads the state file; a missing file is an empty state, a
// corrupt one an error (the caller says so and starts empty).
func loadState(path string) (map[string]savedApp, error) {
	b, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read reconciler state: %w", err)
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
		r.log.Error("starting without the saved reconciler state: instances are found by the runtime, restart counts and backoff start over", "err", err)
		r.record(Event{Time: r.now(), Type: "Warning", Reason: "StateCorrupt", Object: r.stateFile, Message: err.Error()})
		return
	}
	for name, a := range apps {
		r.apps[name] = &appState{generation: a.Generation, revision: a.Revision, slots: a.Slots}
	}
}

// save writes the state file if anything changed since the last save.
func (r *Reconciler) save() {
	if r.stateFile == "" {
		return
	}
	r.mu.RLock()
	if !r.dirty {
		r.mu.RUnlock()
		return
	}
	s := savedState{Version: stateVersion, SavedAt: r.now(), Apps: make(map[string]savedApp, len(r.apps))}
	for name, st := range r.apps {
		s.Apps[name] = savedApp{Generation: st.generation, Revision: st.revision, Slots: st.slots}
	}
	b, err := json.Marshal(s)
	r.mu.RUnlock()
	if err != nil {
		r.log.Error("encode reconciler state", "err", err)
		return
	}
	if err := runtime.WriteFileAtomic(r.stateFile, b); err != nil {
		r.log.Error("save reconciler state", "file", r.stateFile, "err", err)
		return
	}
	r.mu.Lock()
	r.dirty = false
	r.mu.Unlock()
}
