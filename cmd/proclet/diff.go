package main

import (
	"context"
	"fmt"
	"io"

	"proclet.dev/proclet/server/client"
	"proclet.dev/proclet/watchers"
)

// runDiff is `proclet diff DIR`: what the daemon would change if DIR were
// its manifests directory. Like diff(1): exit 0 when nothing differs, 1
// when something does, 2 on trouble: the daemon or DIR cannot be read, or
// a file of DIR is invalid (its apps cannot be compared; the problems are
// printed with the rest).
func runDiff(args []string, stdout, stderr io.Writer) int {
	fs, cf := newClientFlags("diff", "proclet diff DIR [--server URL]", false, stderr)
	pos, err := parseArgs(fs, args)
	if err != nil {
		return flagExit(err)
	}
	if len(pos) != 1 {
		exitCode(fs, stderr, &usageError{"want exactly one directory"})
		return 2
	}
	snap, err := watchers.ReadOnce(pos[0])
	if err != nil {
		fmt.Fprintf(stderr, "proclet diff: %v\n", err)
		return 2
	}
	apps, err := cf.client().Apps(context.Background())
	if err != nil {
		fmt.Fprintf(stderr, "proclet diff: %v\n", err)
		return 2
	}
	code := 0
	for _, c := range client.Diff(snap, apps) {
		fmt.Fprintln(stdout, c.String())
		switch {
		case c.Op == client.OpProblem:
			code = 2
		case c.Differs() && code == 0:
			code = 1
		}
	}
	return code
}
