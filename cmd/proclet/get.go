package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"proclet.dev/proclet/apis/v1alpha1"
	"proclet.dev/proclet/server/client"
)

// getKinds maps what `get` accepts to its kind.
var getKinds = map[string]string{
	"apps": "apps", "app": "apps",
	"instances": "instances", "instance": "instances", "inst": "instances",
	"jobs": "jobs", "job": "jobs",
	"cronjobs": "cronjobs", "cronjob": "cronjobs", "cj": "cronjobs",
	"manifests": "manifests", "manifest": "manifests",
	"events": "events", "event": "events", "ev": "events",
}

// getFormats are the -o values of each kind.
var getFormats = map[string][]string{
	"apps":      {"wide", "json", "yaml", "name"},
	"instances": {"wide", "json", "yaml", "name"},
	"jobs":      {"wide", "json", "yaml", "name"},
	"cronjobs":  {"wide", "json", "yaml", "name"},
	"manifests": {"json", "yaml", "name"},
	"events":    {"json", "yaml"},
}

// getOptions is the command line of `proclet get`.
type getOptions struct {
	kind, name string
	watch      bool
	forApp     string // events of this app only
	fleet      *fleet // --servers: every daemon of the fleet (fleet_get.go)
}

func newGetCmd() *cobra.Command {
	var o getOptions
	cmd := &cobra.Command{
		Use:   "get apps|instances|jobs|cronjobs|manifests|events [NAME]",
		Short: "List apps, instances, jobs, cronjobs, manifest files or events",
		Long: `List apps, instances (of every app, or of one), jobs (COMPLETIONS, DURATION,
STATUS: Running, Complete or Failed with its reason), cronjobs (SCHEDULE,
TIMEZONE, SUSPEND, ACTIVE, LAST SCHEDULE, NEXT), the manifest files the daemon
read with their state (Applied, or the problem: Invalid, DuplicateName,
Unreadable, PortConflict, with FILE:LINE: FIELD: MESSAGE), or the recent
events, oldest first. -o wide adds columns; -o json|yaml prints the API's
objects; -o name prints KIND/NAME. -w prints a new row each time an app,
an instance, a job or a cronjob changes, until Ctrl-C. A job's processes are
instances named JOB-RUN-INDEX: get instances JOB lists them. --servers asks
many daemons at once and prints one table with a NODE column (docs/fleet.md).`,
		Example: `  proclet get apps
  proclet get apps web -o yaml
  proclet get instances workers -o wide
  proclet get instances -w
  proclet get jobs
  proclet get job migrate -o yaml
  proclet get cronjobs -o wide
  proclet get cj -w
  proclet get instances migrate
  proclet get manifests
  proclet get events --for web

  # every host of a fleet, one table with a NODE column
  proclet get apps --servers h1:9090,h2:9090
  proclet get instances web --servers @hosts.txt -o json`,
		Args: getArgs,
	}
	cf := addClientFlags(cmd)
	ff := addFleetFlags(cmd)
	cf.addOutputFlag(cmd, "wide", "json", "yaml", "name")
	cmd.Flags().BoolVarP(&o.watch, "watch", "w", false, "after the list, print a row each time one changes (apps, instances, jobs, cronjobs)")
	cmd.Flags().StringVar(&o.forApp, "for", "", "events: only those of this app")
	_ = cmd.RegisterFlagCompletionFunc("for", completeApps(cf, -1))
	cmd.ValidArgsFunction = completeGet(cf)
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		o.kind = getKinds[args[0]]
		if err := ff.check(cmd); err != nil {
			return err
		}
		if ff.active() {
			o.fleet = ff.fleet(cf.cacert)
		}
		if len(args) == 2 {
			o.name = args[1]
		}
		ctx := cmd.Context()
		if o.watch {
			var stop context.CancelFunc
			ctx, stop = signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
			defer stop()
		}
		return get(ctx, cf, o, cmd.OutOrStdout(), cmd.ErrOrStderr())
	}
	return cmd
}

// getArgs wants a known kind and at most one name.
func getArgs(_ *cobra.Command, args []string) error {
	if len(args) == 0 || len(args) > 2 {
		return &usageError{"want a kind (apps, instances, jobs, cronjobs, manifests or events) and at most one name"}
	}
	if _, ok := getKinds[args[0]]; !ok {
		return &usageError{fmt.Sprintf("unknown kind %q: want apps, instances, jobs, cronjobs, manifests or events", args[0])}
	}
	return nil
}

func get(ctx context.Context, cf *clientFlags, o getOptions, stdout, stderr io.Writer) error {
	if err := cf.checkOutput(getFormats[o.kind]...); err != nil {
		return err
	}
	if o.watch && (o.kind == "manifests" || o.kind == "events" || (cf.output != "" && cf.output != "wide")) {
		return &usageError{"-w watches apps, instances, jobs and cronjobs as a table (-o wide too)"}
	}
	if o.forApp != "" && o.kind != "events" {
		return &usageError{"--for is for events"}
	}
	if o.fleet != nil {
		return fleetGet(ctx, o.fleet, o, cf.output, stdout, stderr)
	}
	c := cf.client()
	switch o.kind {
	case "apps":
		return getApps(ctx, c, cf.output, o, stdout, stderr)
	case "instances":
		return getInstances(ctx, c, cf.output, o, stdout, stderr)
	case "jobs":
		return getJobs(ctx, c, cf.output, o, stdout, stderr) // get_jobs.go
	case "cronjobs":
		return getCronJobs(ctx, c, cf.output, o, stdout, stderr)
	case "manifests":
		return getManifests(ctx, c, cf.output, o.name, stdout, stderr)
	default:
		if o.name != "" {
			return &usageError{"get events takes no name: use --for APP"}
		}
		return getEvents(ctx, c, cf.output, o.forApp, stdout, stderr)
	}
}

func getApps(ctx context.Context, c *client.Client, output string, o getOptions, stdout, stderr io.Writer) error {
	var (
		apps []v1alpha1.App
		obj  any
		err  error
	)
	if o.name != "" {
		app, err := c.App(ctx, o.name)
		if err != nil {
			return err
		}
		apps, obj = []v1alpha1.App{app}, app
	} else {
		if apps, err = c.Apps(ctx); err != nil {
			return err
		}
		obj = itemList[v1alpha1.App]{Items: nonNil(apps)}
	}
	switch output {
	case "json", "yaml":
		return printOut(stdout, output, obj, nil)
	case "name":
		_, err := io.WriteString(stdout, client.Names("app", appNames(apps)))
		return err
	}
	if len(apps) == 0 && !o.watch {
		fmt.Fprintln(stderr, "No apps found.")
		return nil
	}
	// AGE is the app's creationTimestamp (the oldest instance's from a
	// daemon that keeps none).
	insts, err := c.Instances(ctx, o.name)
	if err != nil {
		return err
	}
	t := appTable(apps, insts, output == "wide")
	if o.watch {
		return watchApps(ctx, c, o.name, output == "wide", t, apps, insts, stdout)
	}
	return printOut(stdout, "", nil, t)
}

func getInstances(ctx context.Context, c *client.Client, output string, o getOptions, stdout, stderr io.Writer) error {
	insts, err := instancesOf(ctx, c, o.name) // get_jobs.go
	if err != nil {
		return err
	}
	switch output {
	case "json", "yaml":
		return printOut(stdout, output, itemList[v1alpha1.Instance]{Items: nonNil(insts)}, nil)
	case "name":
		names := make([]string, len(insts))
		for i, in := range insts {
			names[i] = in.Name
		}
		_, err := io.WriteString(stdout, client.Names("instance", names))
		return err
	}
	if len(insts) == 0 && !o.watch {
		fmt.Fprintln(stderr, "No instances found.")
		return nil
	}
	t := instanceTable(insts, output == "wide")
	if o.watch {
		return watchInstances(ctx, c, o.name, output == "wide", t, insts, stdout)
	}
	return printOut(stdout, "", nil, t)
}

// getManifests lists the files the daemon read (one when name is a path).
func getManifests(ctx context.Context, c *client.Client, output, name string, stdout, stderr io.Writer) error {
	files, err := c.Manifests(ctx)
	if err != nil {
		return err
	}
	if name != "" {
		files = slices.DeleteFunc(files, func(f v1alpha1.FileStatus) bool { return f.Path != name })
		if len(files) == 0 {
			return fmt.Errorf("manifest %q not found", name)
		}
	}
	switch output {
	case "json", "yaml":
		return printOut(stdout, output, itemList[v1alpha1.FileStatus]{Items: nonNil(files)}, nil)
	case "name":
		names := make([]string, len(files))
		for i, f := range files {
			names[i] = f.Path
		}
		_, err := io.WriteString(stdout, client.Names("manifest", names))
		return err
	}
	if len(files) == 0 {
		fmt.Fprintln(stderr, "No manifests found.")
		return nil
	}
	return printOut(stdout, "", nil, client.ManifestTable(files))
}

// getEvents lists the daemon's recent events (the API's default count),
// oldest first as kubectl events does, so the newest is above the prompt.
func getEvents(ctx context.Context, c *client.Client, output, app string, stdout, stderr io.Writer) error {
	events, err := c.Events(ctx, app, 0)
	if err != nil {
		return err
	}
	slices.Reverse(events)
	if output != "" {
		return printOut(stdout, output, itemList[v1alpha1.Event]{Items: nonNil(events)}, nil)
	}
	if len(events) == 0 {
		fmt.Fprintln(stderr, "No events found.")
		return nil
	}
	return printOut(stdout, "", nil, client.EventTable(events, time.Now()))
}

func appTable(apps []v1alpha1.App, insts []v1alpha1.Instance, wide bool) *client.Table {
	if wide {
		return client.AppTableWide(apps, insts, time.Now())
	}
	return client.AppTable(apps, insts, time.Now())
}

func instanceTable(insts []v1alpha1.Instance, wide bool) *client.Table {
	if wide {
		return client.InstanceTableWide(insts, time.Now())
	}
	return client.InstanceTable(insts, time.Now())
}

func appNames(apps []v1alpha1.App) []string {
	names := make([]string, len(apps))
	for i := range apps {
		names[i] = apps[i].Metadata.Name
	}
	return names
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
