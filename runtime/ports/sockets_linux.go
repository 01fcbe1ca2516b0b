package ports

// This file joins spec.sockets to the port checks: a socket is a port the
// daemon listens on itself, for every instance of its app, so it is held
// by that app as long as one of its instances is (runtime/sockets keeps
// the sockets; Release frees both).

import (
	"errors"
	"fmt"
	"os"

	"proclet.dev/proclet/apis/v1alpha1"
	"proclet.dev/proclet/runtime"
	"proclet.dev/proclet/runtime/sockets"
)

// Sockets returns the listening sockets of s.Spec.Sockets, in spec order,
// binding those not bound yet, and holds them for s.UID until Release. A
// socket whose port another app's instance holds (spec.ports) or another
// app's socket holds, or that cannot be bound, is a *PortInUseError
// naming spec.sockets[i]; nothing is then held.
func (m *Manager) Sockets(s runtime.StartSpec) ([]*os.File, error) {
	if s.Spec == nil || len(s.Spec.Sockets) == 0 {
		return nil, nil
	}
	for i, k := range s.Spec.Sockets {
		if app, ord, uid, ok := m.alloc.holder(k.Port, s.App); ok {
			return nil, &runtime.PortInUseError{Port: k.Port, Name: k.Name,
				Message: fmt.Sprintf("spec.sockets[%d] (%s): port %d is held by instance %s-%d (uid %s)", i, k.Name, k.Port, app, ord, uid)}
		}
	}
	files, err := m.sockets.Acquire(s.UID, s.App, s.Spec.Sockets)
	var ce *sockets.ConflictError
	if errors.As(err, &ce) {
		return nil, &runtime.PortInUseError{Port: ce.Socket.Port, Name: ce.Socket.Name, Message: ce.Error()}
	}
	return files, err
}

// AdoptSockets records that uid of app, an adopted instance, holds the
// sockets of specs, taking each one not bound yet from files[i]
// (sockets.Set.Adopt).
func (m *Manager) AdoptSockets(uid, app string, specs []v1alpha1.SocketSpec, files []*os.File) {
	m.sockets.Adopt(uid, app, specs, files)
}

// BoundSockets lists the addresses of the sockets bound now.
func (m *Manager) BoundSockets() []string { return m.sockets.Bound() }

// socketPorts refuses a fixed port of app that is another app's socket,
// and adds every socket's port to host, so that no range picks one.
func (m *Manager) socketPorts(app string, specs []v1alpha1.PortSpec, host *Set) error {
	for _, p := range specs {
		if p.Port == 0 {
			continue
		}
		if sa, name, ok := m.sockets.PortOf(p.Port); ok && sa != app {
			return &runtime.PortInUseError{Port: p.Port, Name: p.Name,
				Message: fmt.Sprintf("port %d (%s) is the socket %s of app %q", p.Port, p.Name, name, sa)}
		}
	}
	if host != nil {
		for _, k := range m.sockets.Ports() {
			host.add(k)
		}
	}
	return nil
}

// SocketInodes is the inode of each bound socket, by address (tests: the
// same socket across a daemon restart).
func (m *Manager) SocketInodes() map[string]uint64 { return m.sockets.Inodes() }
