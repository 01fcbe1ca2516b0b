package ports

import (
	"log/slog"
	"maps"
	"path/filepath"

	"proclet.dev/proclet/runtime"
	"proclet.dev/proclet/runtime/sockets"
)

// Manager is the port allocator of one runtime (exec.Runtime), with its
// file and the host check.
type Manager struct {
	alloc   *portAllocator
	store   *portStore
	procNet string // "/proc/net"
	log     *slog.Logger
	sockets *sockets.Set // spec.sockets, bound by the daemon (sockets_linux.go)
}

// NewManager loads <stateDir>/ports.json. A file it cannot read is
// logged and ignored: allocation starts afresh (and overwrites it).
func NewManager(stateDir string, log *slog.Logger) *Manager {
	m := &Manager{
		alloc:   newPortAllocator(),
		store:   &portStore{path: filepath.Join(stateDir, FileName)},
		procNet: "/proc/net",
		log:     log,
		sockets: sockets.NewSet(),
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

// Assign returns the ports instance s starts with and holds them for
// s.UID until release: s.Ports as given when the caller set them, else
// ports allocated from s.Spec.Ports against the host's listeners (read
// once per call), else none.
func (m *Manager) Assign(s runtime.StartSpec) (map[string]int32, error) {
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
		if err := m.socketPorts(s.App, s.Spec.Ports, host); err != nil {
			return nil, err
		}
		ports, err := m.alloc.assign(s.UID, key, s.Spec.Ports, host)
		if err != nil {
			return nil, err
		}
		s.Ports = ports
	default:
		return nil, nil
	}
	m.Save()
	return s.Ports, nil
}

// Release frees what uid holds.
func (m *Manager) Release(uid string) {
	m.sockets.Release(uid)
	if m.alloc.release(uid) {
		m.Save()
	}
}

// Save writes the allocations; a failure is logged (the allocations in
// memory stay right; the next change retries the write).
func (m *Manager) Save() {
	if err := m.store.save(m.alloc); err != nil {
		m.log.Error("saving port allocations", "file", m.store.path, "err", err)
	}
}

// Hold records that uid (an ordinal of app) holds ports: an adopted
// instance keeps what it was started with.
func (m *Manager) Hold(uid, app string, ordinal int, ports map[string]int32) {
	m.alloc.hold(uid, portKey{App: app, Ordinal: ordinal}, ports)
}

// Previous returns the live table of ports.json, by uid: the ports each
// instance held when the last daemon wrote it.
func (m *Manager) Previous() map[string]map[string]int32 {
	f, err := m.store.load()
	if err != nil {
		return nil // NewManager logged it
	}
	out := make(map[string]map[string]int32, len(f.Live))
	for _, l := range f.Live {
		if l.UID != "" && len(l.Ports) > 0 {
			out[l.UID] = maps.Clone(l.Ports)
		}
	}
	return out
}

// Held is how many instances hold ports now.
func (m *Manager) Held() int {
	m.alloc.mu.Lock()
	defer m.alloc.mu.Unlock()
	return len(m.alloc.live)
}
