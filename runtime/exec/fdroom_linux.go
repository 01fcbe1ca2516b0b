package exec

import (
	"golang.org/x/sys/unix"

	"proclet.dev/proclet/runtime/logfile"
)

// fdRoom computes the caches' share of the descriptor limit.
type fdRoom struct {
	nofile   int // RLIMIT_NOFILE's soft limit at New
	reserved int // Options.ReservedFDs + RuntimeFDs
}

func newFDRoom(reserved int) fdRoom {
	r := fdRoom{nofile: 1024, reserved: max(reserved, 0) + RuntimeFDs}
	var l unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &l); err == nil {
		r.nofile = int(min(l.Cur, 1<<30))
	}
	return r
}

// caches is what is left to the caches while live instances run.
func (r fdRoom) caches(live int) int {
	return max(0, r.nofile-r.reserved-FDsPerInstance*live)
}

// samplerShare is one sampler's bound on held stat descriptors.
func (r fdRoom) samplerShare(live int) int { return r.caches(live) / 4 }

// logShare is the bound on open log files (logfile.OpenFiles), at most
// logfile.MaxOpenLimit.
func (r fdRoom) logShare(live int) int { return min(r.caches(live)/2, logfile.MaxOpenLimit) }
