package exec

import (
	"log/slog"
	"path/filepath"

	"proclet.dev/proclet/runtime"
)

// portManager is Runtime's port allocator with its file and the host check.
type portManager struct {
	alloc   *portAllocator
	store   *portStore
	procNet string // "/proc/net"
	log     *slog.Logger
}

// newPortManager loads <stateDir>/ports.json. A file it cannot read is
// logged and ignored: allocation starts afresh (and overwrites it).
func newPortManager(stateDir string, log *slog.Logger) *portManager {
	m := &portManager{
		alloc:   newPortAllocator(),
		store:   &portStore{path: filepath.Join(stateDir, portsFileName)},
		procNet: "/proc/net",
		log:     log,
	}
	f, err := m.store.load()
	if err != nil {
		log.Error("port allocations unreadable, starting without them", append([]any{"file", m.store.path, "err", err},
			moveAside(m.store.path)...)...)
		return m
	}
	m.alloc.restore(f)
	return m
}

// assign returns the ports instance s starts with and holds them for
// s.UID until release: s.Ports as given when the caller set them, else
// ports allocated from s.Spec.Ports against the host's listeners (read
// once per call), else none.
func (m *portManager) assign(s runtime.StartSpec) (map[string]int32, error) {
	key := portKey{App: s.App, Ordinal: s.Ordinal}
	switch {
	case s.Ports != nil:
		if len(s.Ports) == 0 {
			return s.Ports, nil
		}
		m.alloc.hold(s.UID, key, s.Ports)
	case s.Spec != nil && len(s.Spec.Ports) > 0:
		host, err := HostListeners(m.procNet)
		if err != nil {
			m.log.Warn("cannot check the host for ports in use; allocating without it", "err", err)
		}
		ports, err := m.alloc.assign(s.UID, key, s.Spec.Ports, host)
		if err != nil {
			return nil, err
		}
		s.Ports = ports
	default:
		return nil, nil
	}
	m.save()
	return s.Ports, nil
}

// release frees what uid holds.
func (m *portManager) release(uid string) {
	if m.alloc.release(uid) {
		m.save()
	}
}

// save writes the allocations; a failure is logged (the allocations in
// memory stay right; the next change retries the write).
func (m *portManager) save() {
	if err := m.store.save(m.alloc); err != nil {
		m.log.Error("saving port allocations", "file", m.store.path, "err", err)
	}
}
