package main

import (
	"bytes"
	"context"
	"fmt"
	"io"

	"proclet.dev/proclet/server/client"
)

// fleetDescribe is `proclet describe APP --servers`: the description of
// the app on every daemon that has it, one after the other in the order
// of --servers, each under a "Node:" line. A daemon without the app is
// not a failure; no daemon with it is.
func fleetDescribe(ctx context.Context, f *fleet, name string, stdout, stderr io.Writer) error {
	answers := fanOut(ctx, f, func(ctx context.Context, c *client.Client) ([]byte, error) {
		var b bytes.Buffer
		err := describe(ctx, c, name, &b)
		if client.IsNotFound(err) {
			return nil, nil
		}
		return b.Bytes(), err
	})
	failures := reportFailures(stderr, "proclet describe", answers)
	shown := 0
	for _, a := range answers {
		if a.err != nil || a.val == nil {
			continue
		}
		if shown > 0 {
			fmt.Fprintln(stdout)
		}
		shown++
		fmt.Fprintf(stdout, "%-18s%s\n", "Node:", a.node)
		if _, err := stdout.Write(a.val); err != nil {
			return err
		}
	}
	if failures == nil && shown == 0 {
		return fmt.Errorf("app %q not found on any of the %d hosts", name, len(answers))
	}
	return failures
}
