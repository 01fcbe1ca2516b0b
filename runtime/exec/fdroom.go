package exec

// The daemon's descriptors (RLIMIT_NOFILE) go first to what cannot wait:
// the API's share (Options.ReservedFDs), a fixed few of the Runtime's own
// (state files, the watcher, the lock, probes' connections, the notify
// socket) and FDsPerInstance for each instance. Two caches take what is
// left, and give it back as instances come (fdroom_linux.go): the
// samplers' held /proc/<pid>/stat descriptors (each sampler a quarter of
// it), which are read with open, read, close beyond their bound, and the
// open log files (half of it), closed least recently written first
// beyond theirs. The daemon's budget (cmd/proclet) and the bench's fit
// check count with these.
const (
	// FDsPerInstance is what an instance holds for as long as it runs:
	// its pidfd (the waiter's) and the read ends of its two output FIFOs.
	FDsPerInstance = 3
	// RuntimeFDs is the Runtime's own, whatever the instances.
	RuntimeFDs = 128
)
