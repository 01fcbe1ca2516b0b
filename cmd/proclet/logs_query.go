package main

import (
	"context"
	"fmt"
	"io"
	"strings"

	"proclet.dev/proclet/server/client"
)

// logsQueryFlags are the flags of `proclet logs` that choose and show
// lines: --since, --previous, --timestamps, -o json, --init.
type logsQueryFlags struct {
	since      string
	previous   bool
	timestamps bool
	output     string
	init       string // --init: an init step's output
}

// check refuses an output format other than json.
func (q *logsQueryFlags) check() error {
	if q.output != "" && q.output != "json" {
		return &usageError{fmt.Sprintf("-o %q: the only output format of logs is json", q.output)}
	}
	return nil
}

// openLog opens the log of one instance as the options ask.
func openLog(ctx context.Context, c *client.Client, o logsOptions, instance string) (io.ReadCloser, error) {
	return c.LogsQuery(ctx, o.app, instance, client.LogQuery{Stream: o.stream, Tail: o.tail, Follow: o.follow,
		Previous: o.query.previous, Timestamps: o.query.timestamps, Since: o.query.since, JSON: o.query.output == "json",
		Init: o.query.init})
}

// linePrefix is what each line of an instance gets when several are
// shown: its name, except in JSON (each record names its instance).
func linePrefix(o logsOptions, instance string) string {
	if o.query.output == "json" {
		return ""
	}
	return "[" + instance + "] "
}

// goneAppHint adds to an app's not found that the logs of a removed app
// are read by naming an instance (they are kept --log-retention).
func goneAppHint(app string, err error) error {
	if !strings.Contains(err.Error(), "not found") {
		return err
	}
	instance := app + "-0"
	if i := strings.LastIndexByte(app, '-'); i > 0 && isDigits(app[i+1:]) {
		app, instance = app[:i], app // web-7: an instance of web, gone
	}
	return fmt.Errorf("%w (the logs of a removed app or instance are kept for a while: name it as APP/INSTANCE, %s/%s)", err, app, instance)
}

func isDigits(s string) bool {
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return s != ""
}
