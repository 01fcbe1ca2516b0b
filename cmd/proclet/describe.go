package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"proclet.dev/proclet/apis/v1alpha1"
	"proclet.dev/proclet/server/client"
)

// describeEvents is how many recent events `proclet describe` shows.
const describeEvents = 20

func newDescribeCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "describe APP | describe app|job|cronjob NAME",
		Short: "Show an app's, a job's or a cronjob's spec, status, instances and recent events",
		Long: `Show an app: a summary of its spec (env values never shown), its status, its
conditions, its instances and its last 20 events, newest first. An app the
daemon does not run but whose manifest is broken is reported with the file's
problem. describe job NAME shows a Job the same way, with its current run's
status and the runs kept (their results, processes and messages); describe
cronjob NAME a CronJob: its schedule, last and next runs, job template and runs.
describe NAME describes the Job or CronJob of that name when no app has it.`,
		Example: `  proclet describe web
  proclet describe job migrate
  proclet describe cronjob report
  proclet describe web --server http://10.0.0.5:9090
  proclet describe web --servers @hosts.txt`,
		Args: describeArgs,
	}
	cf := addClientFlags(cmd)
	ff := addFleetFlags(cmd)
	cmd.ValidArgsFunction = completeDescribe(cf)
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		if err := ff.check(cmd); err != nil {
			return err
		}
		if len(args) == 2 {
			kind := describeKinds[args[0]]
			if kind != v1alpha1.KindApp {
				if ff.active() {
					return &usageError{"--servers describes apps only: describe a job on one daemon with --server"}
				}
				return describeJob(cmd.Context(), cf.client(), kind, args[1], cmd.OutOrStdout()) // describe_jobs.go
			}
			args = args[1:]
		}
		if ff.active() {
			return fleetDescribe(cmd.Context(), ff.fleet(cf.cacert), args[0], cmd.OutOrStdout(), cmd.ErrOrStderr())
		}
		return describe(cmd.Context(), cf.client(), args[0], cmd.OutOrStdout())
	}
	return cmd
}

// describeArgs wants an app, or a kind (app, job, cronjob) and a name.
func describeArgs(_ *cobra.Command, args []string) error {
	switch {
	case len(args) == 1:
		return nil
	case len(args) == 2:
		if _, ok := describeKinds[args[0]]; ok {
			return nil
		}
		return &usageError{fmt.Sprintf("unknown kind %q: want app, job or cronjob", args[0])}
	}
	return &usageError{"want exactly one app, or a kind (app, job, cronjob) and a name"}
}

func describe(ctx context.Context, c *client.Client, name string, stdout io.Writer) error {
	app, err := c.App(ctx, name)
	if client.IsNotFound(err) {
		if kind := jobKindOf(ctx, c, name); kind != "" { // names are unique across kinds
			return describeJob(ctx, c, kind, name, stdout)
		}
		return notRunning(ctx, c, name, err)
	}
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

// notRunning explains an app the daemon does not run: when a manifest
// file with a problem defines it (its last good version named it) or is
// named after it (NAME.yaml), that file's problem; else notFound.
func notRunning(ctx context.Context, c *client.Client, name string, notFound error) error {
	files, err := c.Manifests(ctx)
	if err != nil {
		return notFound
	}
	if f := brokenFileOf(files, name); f != nil {
		return fmt.Errorf("app %q is not running: its manifest %s has a problem: %v", name, f.Path, f.Error)
	}
	return notFound
}

// brokenFileOf is the file with a problem that defines app, or whose name
// without its extension is app; nil when none.
func brokenFileOf(files []v1alpha1.FileStatus, app string) *v1alpha1.FileStatus {
	for i := range files {
		f := &files[i]
		if f.Error == nil {
			continue
		}
		base := f.Path[strings.LastIndex(f.Path, "/")+1:]
		if i := strings.LastIndex(base, "."); i > 0 {
			base = base[:i]
		}
		if base == app || containsString(f.Objects, app) {
			return f
		}
	}
	return nil
}

func containsString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
