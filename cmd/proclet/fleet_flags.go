package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
)

// The bounds of a fleet command (docs/faults.md).
const (
	// maxFleetHosts is the most hosts --servers may name.
	maxFleetHosts = 10000
	// maxHostsFile is the largest --servers @FILE read.
	maxHostsFile = 1 << 20
	// maxHostLen is the longest host one line or list item may hold.
	maxHostLen = 512
	// maxFleetParallel is the highest --parallel.
	maxFleetParallel = 1024
	// maxFleetAnswer is the most bytes read of one daemon's one answer.
	maxFleetAnswer = 16 << 20
	// defaultFleetParallel and defaultHostTimeout are the flags' defaults.
	defaultFleetParallel = 32
	defaultHostTimeout   = 5 * time.Second
)

// fleetFlags are the flags of a client command asked of many daemons:
// --servers (PROCLET_SERVERS), --parallel and --host-timeout.
type fleetFlags struct {
	servers     string
	parallel    int
	hostTimeout time.Duration
	hosts       []string // parsed by check
}

// addFleetFlags registers the fleet flags on cmd.
func addFleetFlags(cmd *cobra.Command) *fleetFlags {
	ff := &fleetFlags{}
	cmd.Flags().StringVar(&ff.servers, "servers", os.Getenv("PROCLET_SERVERS"),
		"ask many daemons: `h1:9090,h2:9090,...` or @FILE (one per line, # comments); PROCLET_SERVERS sets the default")
	cmd.Flags().IntVar(&ff.parallel, "parallel", defaultFleetParallel, "with --servers: how many daemons are asked at once")
	cmd.Flags().DurationVar(&ff.hostTimeout, "host-timeout", defaultHostTimeout, "with --servers: how long one daemon may take to answer")
	return ff
}

// active reports whether the command runs against a fleet.
func (ff *fleetFlags) active() bool { return ff != nil && strings.TrimSpace(ff.servers) != "" }

// check parses --servers and checks the other flags; cmd tells whether
// --server was given too (a usage mistake: one or the other).
func (ff *fleetFlags) check(cmd *cobra.Command) error {
	if !ff.active() {
		return nil
	}
	if cmd != nil && cmd.Flags().Changed("server") {
		return &usageError{"--server and --servers: give one or the other"}
	}
	if ff.parallel < 1 || ff.parallel > maxFleetParallel {
		return &usageError{fmt.Sprintf("--parallel %d: want 1 to %d", ff.parallel, maxFleetParallel)}
	}
	if ff.hostTimeout <= 0 {
		return &usageError{fmt.Sprintf("--host-timeout %s: want a duration above 0", ff.hostTimeout)}
	}
	hosts, err := parseServers(ff.servers)
	if err != nil {
		return &usageError{err.Error()}
	}
	ff.hosts = hosts
	return nil
}

// parseServers reads "h1,h2" or "@FILE" into hosts, in order, without
// duplicates; at most maxFleetHosts.
func parseServers(s string) ([]string, error) {
	s = strings.TrimSpace(s)
	var items []string
	where := "--servers"
	if name, ok := strings.CutPrefix(s, "@"); ok {
		where = "--servers @" + name
		b, err := readHostsFile(name)
		if err != nil {
			return nil, err
		}
		sc := bufio.NewScanner(bytes.NewReader(b))
		sc.Buffer(make([]byte, 0, 4096), maxHostsFile)
		line := 0
		for sc.Scan() {
			line++
			text, _, _ := strings.Cut(sc.Text(), "#")
			for _, f := range strings.Fields(text) {
				if len(f) > maxHostLen {
					return nil, fmt.Errorf("%s:%d: a host of %d bytes: at most %d", name, line, len(f), maxHostLen)
				}
				items = append(items, f)
			}
		}
	} else {
		for _, f := range strings.Split(s, ",") {
			if f = strings.TrimSpace(f); f != "" {
				if len(f) > maxHostLen {
					return nil, fmt.Errorf("--servers: a host of %d bytes: at most %d", len(f), maxHostLen)
				}
				items = append(items, f)
			}
		}
	}
	seen := map[string]bool{}
	var hosts []string
	for _, h := range items {
		if seen[h] {
			continue
		}
		seen[h] = true
		hosts = append(hosts, h)
		if len(hosts) > maxFleetHosts {
			return nil, fmt.Errorf("%s: more than %d hosts", where, maxFleetHosts)
		}
	}
	if len(hosts) == 0 {
		return nil, fmt.Errorf("%s: no host", where)
	}
	return hosts, nil
}

// readHostsFile reads a hosts file of at most maxHostsFile bytes.
func readHostsFile(name string) ([]byte, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, fmt.Errorf("--servers @%s: %w", name, err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxHostsFile+1))
	if err != nil {
		return nil, fmt.Errorf("--servers @%s: %w", name, err)
	}
	if len(b) > maxHostsFile {
		return nil, fmt.Errorf("--servers @%s: larger than %d bytes", name, maxHostsFile)
	}
	return b, nil
}
