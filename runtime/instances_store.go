package runtime

// This file holds <state-dir>/instances.json: every handle of the Exec,
// written so that a daemon started after this one (kill -9, an upgrade with
// --on-exit keep) finds the instances still running and adopts them
// (adopt_linux.go). See "Adoption" in doc.go.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"proclet.dev/proclet/apis/v1alpha1"
)

const (
	// instancesFileName is the handles' file in the state dir.
	instancesFileName = "instances.json"
	// instancesVersion is bumped when the file's meaning changes.
	instancesVersion = 1
	// flushEvery bounds how often Run writes the file: a burst of starts
	// and exits is one write.
	flushEvery = 100 * time.Millisecond
)

// instancesFile is the JSON of instances.json.
type instancesFile struct {
	Version   int              `json:"version"`
	Instances []instanceRecord `json:"instances"`
}

// instanceRecord is one handle: what a new daemon needs to check that the
// process is still the instance (PID, StartTicks, the PROCLET_UID of its
// environment) and to carry on with it.
type instanceRecord struct {
	UID      string            `json:"uid"`
	App      string            `json:"app"`
	Instance string            `json:"instance"`
	Ordinal  int               `json:"ordinal"`
	Revision string            `json:"revision"`
	Spec     *v1alpha1.AppSpec `json:"spec,omitempty"`
	Dir      string            `json:"dir,omitempty"`
	Ports    map[string]int32  `json:"ports,omitempty"`
	PID      int               `json:"pid"`
	// StartTicks is field 22 of /proc/<pid>/stat, the start time in clock
	// ticks since boot: (PID, StartTicks) names one process for ever.
	StartTicks uint64      `json:"startTicks"`
	StartedAt  time.Time   `json:"startedAt"`
	Probe      probeRecord `json:"probe"`
	// Exit is set once the instance exited (its handle not yet released):
	// a new daemon reports that exit instead of an Unknown one.
	Exit *v1alpha1.ExitStatus `json:"exit,omitempty"`
}

// probeRecord is ProbeStatus in the file, with names of its own so that a
// renamed Go field does not change the format.
type probeRecord struct {
	Started    bool      `json:"started"`
	Ready      bool      `json:"ready"`
	ReadySince time.Time `json:"readySince,omitzero"`
	Failed     string    `json:"failed,omitempty"`
	Message    string    `json:"message,omitempty"`
}

func toProbeRecord(p ProbeStatus) probeRecord {
	return probeRecord{Started: p.Started, Ready: p.Ready, ReadySince: p.ReadySince, Failed: p.Failed, Message: p.Message}
}

func (p probeRecord) status() ProbeStatus {
	return ProbeStatus{Started: p.Started, Ready: p.Ready, ReadySince: p.ReadySince, Failed: p.Failed, Message: p.Message}
}

// startSpec is the StartSpec the record was started with.
func (r *instanceRecord) startSpec() StartSpec {
	return StartSpec{UID: r.UID, App: r.App, Instance: r.Instance, Ordinal: r.Ordinal, Revision: r.Revision,
		Spec: r.Spec, Dir: r.Dir, Ports: maps.Clone(r.Ports)}
}

// instanceStore reads and writes instances.json. Changes mark it dirty
// (markDirty, from any goroutine, lock or no lock); Run's flush loop writes
// at most every flushEvery; Detach and StopAll write at once.
type instanceStore struct {
	path  string
	dirty atomic.Bool
	kick  chan struct{} // capacity 1: "dirty was set"

	// mu serialises writes (held across one snapshot and its write, so
	// an older snapshot never overwrites a newer one) and guards last.
	mu   sync.Mutex
	last []byte // the content on disk
}

func newInstanceStore(stateDir string) *instanceStore {
	return &instanceStore{path: filepath.Join(stateDir, instancesFileName), kick: make(chan struct{}, 1)}
}

// markDirty says the handles changed. It never blocks.
func (s *instanceStore) markDirty() {
	s.dirty.Store(true)
	select {
	case s.kick <- struct{}{}:
	default:
	}
}

// load reads the file. A missing file is fs.ErrNotExist (wrapped); a file
// that does not decode, or has another version, is an error too.
func (s *instanceStore) load() ([]instanceRecord, error) {
	data, err := os.ReadFile(s.path)
	if err != nil {
		return nil, fmt.Errorf("read instances: %w", err)
	}
	var f instancesFile
	if err := json.Unmarshal(data, &f); err != nil {
		return nil, fmt.Errorf("instances state %s is corrupt: %w", s.path, err)
	}
	if f.Version != instancesVersion {
		return nil, fmt.Errorf("instances state %s has version %d, want %d", s.path, f.Version, instancesVersion)
	}
	s.mu.Lock()
	s.last = data
	s.mu.Unlock()
	return f.Instances, nil
}

// isMissing reports whether a load error only says there is no file.
func isMissing(err error) bool { return errors.Is(err, fs.ErrNotExist) }

// recordsLocked returns a record of every handle worth remembering: every
// handle not yet released, except those that exited from a planned stop
// (reason "Stopped": the reconciler asked for it and needs nothing more
// of it; this keeps a "stop" shutdown from leaving a file full of them).
// Caller holds e.mu.
func (e *Exec) recordsLocked() []instanceRecord {
	out := make([]instanceRecord, 0, len(e.handles))
	for _, h := range e.handles {
		if h.finished && h.state.Exit != nil && h.state.Exit.Reason == "Stopped" {
			continue
		}
		s := h.spec
		r := instanceRecord{
			UID: s.UID, App: s.App, Instance: s.Instance, Ordinal: s.Ordinal, Revision: s.Revision,
			Spec: s.Spec, Dir: s.Dir, Ports: h.state.Ports,
			PID: h.pid, StartTicks: h.startTicks, StartedAt: h.state.StartedAt,
			Probe: toProbeRecord(h.state.Probe),
		}
		if h.finished && h.state.Exit != nil {
			x := *h.state.Exit
			r.Exit = &x
		}
		out = append(out, r)
	}
	slices.SortFunc(out, func(a, b instanceRecord) int {
		if c := strings.Compare(a.App, b.App); c != 0 {
			return c
		}
		if a.Ordinal != b.Ordinal {
			return a.Ordinal - b.Ordinal
		}
		return strings.Compare(a.UID, b.UID)
	})
	return out
}

// writeInstances writes the file now (when its content changed): to a
// temp file, fsynced, renamed over the file. Errors are logged: the state
// in memory stays right and the next change retries.
func (e *Exec) writeInstances() {
	s := e.store
	s.mu.Lock()
	defer s.mu.Unlock()
	s.dirty.Store(false)
	e.mu.Lock()
	// The records share only what never changes after a start: the spec
	// (read only) and the ports map (State.Ports is never written).
	f := instancesFile{Version: instancesVersion, Instances: e.recordsLocked()}
	e.mu.Unlock()
	data, err := json.Marshal(f) // not indented: written often, with every instance
	if err != nil {
		e.log.Error("encoding the instances state", "err", err)
		return
	}
	data = append(data, '\n')
	if bytes.Equal(data, s.last) {
		return
	}
	if err := WriteFileAtomic(s.path, data); err != nil {
		e.log.Error("saving the instances state; a daemon restarted now finds the instances by their environment", "file", s.path, "err", err)
		s.dirty.Store(true) // retried at the next change or flush
		return
	}
	s.last = data
}

// flushLoop writes the file whenever it is dirty, at most every flushEvery,
// until ctx is done. Run owns it.
func (e *Exec) flushLoop(ctx context.Context) {
	t := time.NewTimer(flushEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-e.store.kick:
		}
		if e.store.dirty.Load() {
			e.writeInstances()
		}
		t.Reset(flushEvery)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
