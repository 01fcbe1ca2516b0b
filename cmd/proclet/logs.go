package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"proclet.dev/proclet/server/client"
)

// logsOptions is the command line of `proclet logs`.
type logsOptions struct {
	app, instance string
	stream        string // stdout or stderr
	tail          int    // < 0: everything
	follow        bool
	query         logsQueryFlags // logs_query.go
}

// newLogsCmd is `proclet logs APP[/INSTANCE]`: one instance's output as
// it is, or every instance's, each line prefixed "[web-0] ". With -f the
// output is followed (every instance at once) until Ctrl-C, which ends it
// cleanly (exit 0). Instances that start after the command began are not
// picked up. An instance's name alone (web-1) stands for web/web-1.
func newLogsCmd() *cobra.Command {
	var o logsOptions
	var errStream bool
	cmd := &cobra.Command{
		Use:   "logs APP[/INSTANCE] | INSTANCE",
		Short: "Print the output of an app's instances, or of one instance",
		Long: `Print one instance's output as it was written or, with only an app, every
instance's, each line prefixed with the instance's name. An instance's name
alone (workers-1) is that instance. -f follows until Ctrl-C (exit 0).`,
		Example: `  # the last 20 lines of every worker, then follow them
  proclet logs workers -f --tail 20

  # one instance, two ways
  proclet logs workers/workers-1
  proclet logs workers-1

  # the standard error
  proclet logs flaky --stderr

  # with the time each line was read, of the last 10 minutes
  proclet logs web --since 10m --timestamps

  # the run before the last restart (after a crash)
  proclet logs web/web-0 --previous

  # what the init step "migrate" printed before the command started
  proclet logs web/web-0 --init migrate

  # JSON lines for a log shipper
  proclet logs web -f -o json

  # every host's instances of web, each line prefixed [NODE]
  proclet logs web --tail 5 --servers @hosts.txt`,
		Args: argsBetween(1, 1, "want exactly one APP, APP/INSTANCE or INSTANCE"),
	}
	cf := addClientFlags(cmd)
	ff := addFleetFlags(cmd)
	cmd.ValidArgsFunction = completeLogTargets(cf)
	cmd.Flags().BoolVarP(&o.follow, "follow", "f", false, "follow the output until Ctrl-C")
	cmd.Flags().IntVar(&o.tail, "tail", -1, "show only the last N lines (of each instance); -1: all")
	cmd.Flags().BoolVar(&errStream, "stderr", false, "show the standard error instead of the standard output")
	cmd.Flags().StringVar(&o.query.since, "since", "", "show only the lines read since this duration ago (10m) or time (RFC 3339)")
	cmd.Flags().BoolVarP(&o.query.previous, "previous", "p", false, "show the previous run of the instance (the one before its last start)")
	cmd.Flags().BoolVar(&o.query.timestamps, "timestamps", false, "prefix each line with the time the daemon read it, and show each run's start")
	cmd.Flags().StringVarP(&o.query.output, "output", "o", "", "output format: json (JSON lines: time, stream, instance, line)")
	cmd.Flags().StringVar(&o.query.init, "init", "", "show the output of the init step NAME (spec.initCommands) instead of the command's")
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		if err := o.query.check(); err != nil {
			return err
		}
		o.app, o.instance, _ = strings.Cut(args[0], "/")
		o.stream = "stdout"
		if errStream {
			o.stream = "stderr"
		}
		if err := ff.check(cmd); err != nil {
			return err
		}
		ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
		defer stop()
		var err error
		if ff.active() {
			err = fleetLogs(ctx, ff.fleet(cf.cacert), o, cmd.OutOrStdout(), cmd.ErrOrStderr())
		} else {
			err = logs(ctx, cf.client(), o, cmd.OutOrStdout(), cmd.ErrOrStderr())
		}
		if ctx.Err() != nil {
			return nil // Ctrl-C: the user is done reading
		}
		return err
	}
	return cmd
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
	insts, err := logInstances(ctx, c, o.app) // logs_jobs.go: a job's latest run
	if client.IsNotFound(err) {
		if in, ok := findInstance(ctx, c, o.app); ok {
			o.app, o.instance = in.App, in.Name
			return logs(ctx, c, o, stdout, stderr)
		}
	}
	if err != nil {
		return goneAppHint(o.app, err)
	}
	if len(insts) == 0 {
		return fmt.Errorf("app %q %w", o.app, errNoInstances)
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
