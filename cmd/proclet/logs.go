package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"proclet.dev/proclet/server/client"
)

const logsUsage = "proclet logs APP[/INSTANCE] [-f] [--tail N] [--since 10m|TIME] [--previous] [--timestamps] [-o json] [--stderr] [--server URL]"

// logsOptions is the command line of `proclet logs`.
type logsOptions struct {
	app, instance string
	stream        string // stdout or stderr
	tail          int    // < 0: everything
	follow        bool
	query         logsQueryFlags // logs_query.go
}

// runLogs is `proclet logs APP[/INSTANCE]`: one instance's output as it is,
// or every instance's, each line prefixed "[web-0] ". With -f the output is
// followed (every instance at once) until Ctrl-C, which ends it cleanly
// (exit 0). Instances that start after the command began are not picked up.
func runLogs(args []string, stdout, stderr io.Writer) int {
	fs, cf := newClientFlags("logs", logsUsage, false, stderr)
	var o logsOptions
	fs.BoolVar(&o.follow, "f", false, "follow the output until Ctrl-C")
	fs.BoolVar(&o.follow, "follow", false, "same as -f")
	fs.IntVar(&o.tail, "tail", -1, "show only the last `N` lines (of each instance); -1: all")
	errStream := fs.Bool("stderr", false, "show the standard error instead of the standard output")
	fs.StringVar(&o.query.since, "since", "", "show only the lines read since this `duration` ago (10m) or time (RFC 3339)")
	fs.BoolVar(&o.query.previous, "previous", false, "show the previous run of the instance (the one before its last start)")
	fs.BoolVar(&o.query.previous, "p", false, "same as --previous")
	fs.BoolVar(&o.query.timestamps, "timestamps", false, "prefix each line with the time the daemon read it, and show each run's start")
	fs.StringVar(&o.query.output, "o", "", "output `format`: json (JSON lines: time, stream, instance, line)")
	fs.StringVar(&o.query.output, "output", "", "same as -o `format`")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return flagExit(err)
	}
	if err := o.query.check(); err != nil {
		return exitCode(fs, stderr, err)
	}
	if len(pos) != 1 {
		return exitCode(fs, stderr, &usageError{"want exactly one APP or APP/INSTANCE"})
	}
	o.app, o.instance, _ = strings.Cut(pos[0], "/")
	o.stream = "stdout"
	if *errStream {
		o.stream = "stderr"
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err = logs(ctx, cf.client(), o, stdout, stderr)
	if ctx.Err() != nil {
		return 0 // Ctrl-C: the user is done reading
	}
	return exitCode(fs, stderr, err)
}

func logs(ctx context.Context, c *client.Client, o logsOptions, stdout, stderr io.Writer) error {
	if o.instance != "" {
		rc, err := openLog(ctx, c, o, o.instance)
		if err != nil {
			return err
		}
		defer rc.Close()
		if _, err := io.Copy(stdout, rc); err != nil {
			return fmt.Errorf("reading the output of %s: %w", o.instance, err)
		}
		return nil
	}
	insts, err := c.Instances(ctx, o.app)
	if err != nil {
		return goneAppHint(o.app, err)
	}
	if len(insts) == 0 {
		return fmt.Errorf("app %q has no instances", o.app)
	}
	var sources []client.LineSource
	failed := 0
	fail := func(name string, err error) {
		// One instance without a log yet must not hide the others.
		fmt.Fprintf(stderr, "proclet logs: %s: %v\n", name, err)
		failed++
	}
	for _, in := range insts {
		rc, err := openLog(ctx, c, o, in.Name)
		if err != nil {
			fail(in.Name, err)
			continue
		}
		defer rc.Close()
		src := client.LineSource{Prefix: linePrefix(o, in.Name), R: rc}
		if o.follow {
			sources = append(sources, src)
			continue
		}
		// Without -f, one instance after the other, as kubectl does.
		if err := client.CopyLines(stdout, []client.LineSource{src}); err != nil {
			fail(in.Name, err)
		}
		rc.Close()
	}
	if len(sources) > 0 {
		if err := client.CopyLines(stdout, sources); err != nil && ctx.Err() == nil {
			fmt.Fprintf(stderr, "proclet logs: %v\n", err)
			failed++
		}
	}
	if failed > 0 {
		return fmt.Errorf("could not read the output of every instance of %s", o.app)
	}
	return nil
}
