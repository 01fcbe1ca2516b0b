package ports

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"proclet.dev/proclet/internal/atomicfile"
	"proclet.dev/proclet/internal/boundedfile"
)

// FileName is the allocations' file in the state dir.
const FileName = "ports.json"

// File is the JSON of ports.json.
type File struct {
	Version int `json:"version"`
	// Sticky: the ports each ordinal had last.
	Sticky []Entry `json:"sticky"`
	// Live: the ports each running or stopping instance holds, by uid.
	Live []Entry `json:"live"`
}

// Entry is one row of File.
type Entry struct {
	UID     string           `json:"uid,omitempty"`
	App     string           `json:"app"`
	Ordinal int              `json:"ordinal"`
	Ports   map[string]int32 `json:"ports"`
}

// snapshot returns the allocator's tables, sorted, and their version.
func (a *portAllocator) snapshot() (File, uint64) {
	a.mu.Lock()
	f := File{Version: 1, Sticky: []Entry{}, Live: []Entry{}}
	for k, ports := range a.sticky {
		f.Sticky = append(f.Sticky, Entry{App: k.App, Ordinal: k.Ordinal, Ports: maps.Clone(ports)})
	}
	for uid, al := range a.live {
		f.Live = append(f.Live, Entry{UID: uid, App: al.key.App, Ordinal: al.key.Ordinal, Ports: maps.Clone(al.ports)})
	}
	v := a.version
	a.mu.Unlock()
	byKey := func(x, y Entry) int {
		if c := strings.Compare(x.App, y.App); c != 0 {
			return c
		}
		if x.Ordinal != y.Ordinal {
			return x.Ordinal - y.Ordinal
		}
		return strings.Compare(x.UID, y.UID)
	}
	slices.SortFunc(f.Sticky, byKey)
	slices.SortFunc(f.Live, byKey)
	return f, v
}

// restore loads what a previous daemon wrote. Its live instances are not
// held here (no instance of this runtime runs them; any still listening is
// skipped by the host check): their ports only seed the sticky table of
// an ordinal that has none.
func (a *portAllocator) restore(f File) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, e := range f.Sticky {
		if len(e.Ports) > 0 {
			a.sticky[portKey{e.App, e.Ordinal}] = maps.Clone(e.Ports)
		}
	}
	for _, e := range f.Live {
		k := portKey{e.App, e.Ordinal}
		if _, ok := a.sticky[k]; !ok && len(e.Ports) > 0 {
			a.sticky[k] = maps.Clone(e.Ports)
		}
	}
}

// portStore reads and writes ports.json.
type portStore struct {
	path string

	// mu serialises writes (it is held across one) and guards written.
	mu      sync.Mutex
	written uint64 // the allocator version on disk
}

// maxPortsFile bounds what is read of ports.json (16 MiB): an instance is
// about 290 bytes (a sticky and a live entry, indented), so 5000 take
// 1.5 MB.
const maxPortsFile = 16 << 20

// load reads the file; a missing file is an empty one. One that is not a
// regular file, is over maxPortsFile or does not decode is an error.
func (s *portStore) load() (File, error) {
	data, err := boundedfile.Read(s.path, maxPortsFile)
	if errors.Is(err, fs.ErrNotExist) {
		return File{}, nil
	}
	if err != nil {
		return File{}, fmt.Errorf("port allocations: %w", err)
	}
	var f File
	if err := json.Unmarshal(data, &f); err != nil {
		return File{}, fmt.Errorf("port allocations %s are corrupt: %w", s.path, err)
	}
	return f, nil
}

// moveAside moves an unreadable state file aside (boundedfile.MoveAside),
// so that a good one is written in its place, and returns log attributes
// saying where it went, or why it could not be moved.
func moveAside(path string) []any {
	aside, err := boundedfile.MoveAside(path, time.Now())
	if err != nil {
		return []any{"move_err", err}
	}
	return []any{"moved_to", aside}
}

// save writes a's tables when they changed since the last write: to a
// temp file, fsynced, renamed over the file, and the directory fsynced.
// Concurrent saves coalesce: each writes the newest tables.
func (s *portStore) save(a *portAllocator) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	f, v := a.snapshot()
	if v == s.written {
		return nil
	}
	data, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return fmt.Errorf("write ports: %w", err)
	}
	if err := atomicfile.Write(s.path, append(data, '\n')); err != nil {
		return fmt.Errorf("write ports: %w", err)
	}
	s.written = v
	return nil
}
