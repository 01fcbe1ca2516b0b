package exec

import (
	"golang.org/x/sys/unix"

	"proclet.dev/proclet/runtime/logfile"
)

// The daemon's descriptors (RLIMIT_NOFILE) go first to what cannot wait:
// the API's share (Options.ReservedFDs), a fixed few of the Runtime's own
// (state files, the watcher, the lock, probes' connections, the notify
// socket) and fdsPerInstance for each instance. Two caches take what is
// left, and give it back as instances come: the samplers' held
// /proc/<pid>/stat descriptors (each sampler a quarter of it), which are
// read with open, read, close beyond their bound, and the open log files
// (half of it), closed least recently written first beyond theirs.
const (
	// fdsPerInstance is what an instance holds for as long as it runs:
	// its pidfd (the waiter's) and the read ends of its two output FIFOs.
	fdsPerInstance = 3
	// runtimeFixedFDs is the Runtime's own, whatever the instances.
	runtimeFixedFDs = 128
)

// fdRoom computes the caches' share of the descriptor limit.
type fdRoom struct {
	nofile   int // RLIMIT_NOFILE's soft limit at New
	reserved int // Options.ReservedFDs + runtimeFixedFDs
}

func newFDRoom(reserved int) fdRoom {
	r := fdRoom{nofile: 1024, reserved: max(reserved, 0) + runtimeFixedFDs}
	var l unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &l); err == nil {
		r.nofile = int(min(l.Cur, 1<<30))
	}
	return r
}

// caches is what is left to the caches while live instances run.
func (r fdRoom) caches(live int) int {
	return max(0, r.nofile-r.reserved-fdsPerInstance*live)
}

// samplerShare is one sampler's bound on held stat descriptors.
func (r fdRoom) samplerShare(live int) int { return r.caches(live) / 4 }

// logShare is the bound on open log files (logfile.OpenFiles), at most
// logfile.MaxOpenLimit.
func (r fdRoom) logShare(live int) int { return min(r.caches(live)/2, logfile.MaxOpenLimit) }
