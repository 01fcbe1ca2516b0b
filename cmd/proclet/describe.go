package main

import (
	"context"
	"io"
	"time"

	"proclet.dev/proclet/server/client"
)

// describeEvents is how many recent events `proclet describe` shows.
const describeEvents = 20

// runDescribe is `proclet describe APP`: spec, status, conditions,
// instances and recent events.
func runDescribe(args []string, stdout, stderr io.Writer) int {
	fs, cf := newClientFlags("describe", "proclet describe APP [--server URL]", false, stderr)
	pos, err := parseArgs(fs, args)
	if err != nil {
		return flagExit(err)
	}
	if len(pos) != 1 {
		return exitCode(fs, stderr, &usageError{"want exactly one app"})
	}
	return exitCode(fs, stderr, describe(context.Background(), cf.client(), pos[0], stdout))
}

func describe(ctx context.Context, c *client.Client, name string, stdout io.Writer) error {
	app, err := c.App(ctx, name)
	if err != nil {
		return err
	}
	insts, err := c.Instances(ctx, name)
	if err != nil {
		return err
	}
	d := &client.Description{App: app, Instances: insts}
	d.Events, d.EventsErr = c.Events(ctx, name, describeEvents)
	return client.Describe(stdout, d, time.Now())
}
