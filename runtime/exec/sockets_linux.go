package exec

// This file hands spec.sockets to an instance (see runtime/sockets): the
// sockets as fds 3… in spec order, LISTEN_FDS and LISTEN_FDNAMES in its
// environment, and the exec shim in front of its command, which sets
// LISTEN_PID to the instance's PID and execs the command (same PID). The
// fork happens from the daemon's fd table, where the sockets are.

import (
	"os"
	"strings"

	"proclet.dev/proclet/apis/v1alpha1"
	"proclet.dev/proclet/runtime/sockets"
)

// shimPath is the exec shim's executable: the daemon's own (tests set
// nothing: their binary runs the shim from TestMain).
var shimPath = sockets.ShimPath

// withSockets makes l start through the shim with files as fds 3….
func withSockets(l *launch, specs []v1alpha1.SocketSpec, files []*os.File) {
	if len(files) == 0 {
		return
	}
	for _, kv := range sockets.Env(specs) {
		name, _, _ := strings.Cut(kv, "=")
		l.env.put(name, kv)
	}
	l.args = sockets.ShimArgs(l.path, l.args)
	l.path = shimPath
	l.files = files
}

// listenFDs is the fd number of each socket of spec in the instance, by
// name: what instances.json records for the next daemon's TakeBack.
func listenFDs(spec *v1alpha1.AppSpec) map[string]int {
	if spec == nil || len(spec.Sockets) == 0 {
		return nil
	}
	out := make(map[string]int, len(spec.Sockets))
	for i, k := range spec.Sockets {
		out[k.Name] = sockets.FirstFD + i
	}
	return out
}

// adoptSockets takes back, from an adopted instance pid, the sockets it
// was started with (fds recorded in fds, else 3… in spec order) that the
// Runtime does not hold yet, and records that the instance holds them.
// A socket that cannot be taken (the instance closed it, no right to
// pidfd_getfd) is bound again by the next start.
func (e *Runtime) adoptSockets(uid, app string, pid int, spec *v1alpha1.AppSpec, fds map[string]int) {
	if spec == nil || len(spec.Sockets) == 0 {
		return
	}
	files := make([]*os.File, len(spec.Sockets))
	for i, k := range spec.Sockets {
		fd, ok := fds[k.Name]
		if !ok {
			fd = sockets.FirstFD + i
		}
		f, err := sockets.TakeBack(pid, fd, k)
		if err != nil {
			e.log.Warn("cannot take back a socket from an adopted instance", "app", app, "socket", k.Name, "pid", pid, "err", err)
			continue
		}
		files[i] = f
	}
	e.ports.AdoptSockets(uid, app, spec.Sockets, files)
}
