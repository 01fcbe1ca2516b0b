package main

import (
	"fmt"
	"log/slog"
	"syscall"

	"proclet.dev/proclet/apis/v1alpha1"
	"proclet.dev/proclet/runtime/exec"
	"proclet.dev/proclet/server"
)

// The daemon's descriptors, RLIMIT_NOFILE (Go raises the soft limit to
// the hard one at start), are shared between the API and supervision.
// The API's share is bounded by its caps:
//
//	api = max-connections (one socket each)
//	    + (streams + log reads) × (logs.maxFiles + 1) (the files of a log being sent)
//	    + apiFixedFDs (the listener, epoll)
//
// and supervision takes what is left (runtime/exec: ReservedFDs is the
// API's share): exec.FDsPerInstance per instance (the waiter's pidfd, two
// FIFOs), a fixed exec.RuntimeFDs (state files, the watcher, the lock, probes'
// connections), and the caches in what remains, shrinking as instances
// come: the samplers' held /proc/<pid>/stat descriptors and the log files
// open while written.
const (
	apiFixedFDs = 8
	// minSupervisionFDs is the least an explicit --max-connections must
	// leave to supervision.
	minSupervisionFDs = 256
	// warnInstancesFit: fewer instances than this fitting in what is left
	// is worth a warning at start.
	warnInstancesFit = 200
)

// fdBudget is the split of the descriptor limit between the API's caps
// and supervision.
type fdBudget struct {
	nofile        uint64
	api           int // the API's worst case
	supervision   int // what is left for supervision
	instancesRoom int // instances the rest fits, at exec.FDsPerInstance each
}

func newFDBudget(nofile uint64, maxConns int) fdBudget {
	filesPerLog := v1alpha1.DefaultLogMaxFiles + 1
	b := fdBudget{nofile: nofile,
		api: maxConns + (server.DefaultMaxStreams+server.MaxLogReads)*filesPerLog + apiFixedFDs}
	b.supervision = int(nofile) - b.api
	b.instancesRoom = max(0, (b.supervision-exec.RuntimeFDs)/exec.FDsPerInstance)
	return b
}

// nofileLimit is the daemon's soft RLIMIT_NOFILE.
func nofileLimit() (uint64, error) {
	var l syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &l); err != nil {
		return 0, fmt.Errorf("read RLIMIT_NOFILE: %w", err)
	}
	return l.Cur, nil
}

// apiCaps are the API's connection caps and the descriptors they may
// hold at most.
type apiCaps struct {
	maxConns, perClient int
	fds                 int
}

// connectionCaps settles the API's connection caps: the flags', or the
// defaults derived from the descriptor limit. An explicit cap that leaves
// supervision less than minSupervisionFDs is refused; a split that fits
// few instances is logged as a warning.
func connectionCaps(cfg daemonConfig, log *slog.Logger) (apiCaps, error) {
	nofile, err := nofileLimit()
	if err != nil {
		return apiCaps{}, err
	}
	maxConns, perClient := cfg.maxConnections, cfg.maxPerClient
	if maxConns == 0 {
		maxConns = server.DefaultMaxConnections(nofile)
	}
	if perClient == 0 {
		perClient = min(server.DefaultMaxConnectionsPerClient, maxConns)
	}
	b := newFDBudget(nofile, maxConns)
	if cfg.maxConnections > 0 && b.supervision < minSupervisionFDs {
		return apiCaps{}, fmt.Errorf("--max-connections %d: the API could then hold %d of the %d descriptors RLIMIT_NOFILE allows, "+
			"leaving %d to supervision (at least %d): lower it or raise the limit (LimitNOFILE= under systemd)",
			maxConns, b.api, nofile, b.supervision, minSupervisionFDs)
	}
	attrs := []any{"max_connections", maxConns, "max_connections_per_client", perClient, "rlimit_nofile", nofile,
		"api_fds_max", b.api, "supervision_fds", b.supervision, "instances_fit", b.instancesRoom}
	if b.instancesRoom < warnInstancesFit {
		log.Warn("few descriptors are left to supervision: raise RLIMIT_NOFILE (LimitNOFILE= under systemd) or lower --max-connections", attrs...)
	} else {
		log.Info("API connection caps", attrs...)
	}
	return apiCaps{maxConns: maxConns, perClient: perClient, fds: b.api}, nil
}
