package main

import (
	"context"
	"fmt"
	"io"
	"slices"
	"time"

	"proclet.dev/proclet/apis/v1alpha1"
	"proclet.dev/proclet/server/client"
)

// hostList is what one daemon answered to a fleet `get`, ready for every
// output: the objects (-o json|yaml), their KIND/NAME (-o name) and the
// table.
type hostList struct {
	items []any
	names []string
	table *client.Table
}

// fleetGet is `proclet get --servers`: every daemon is asked, and the
// answers are printed as one table with a NODE column first, one -o json
// list whose items carry their node, or NODE KIND/NAME lines. An app or
// instance a daemon does not have is not a failure: that node has no row.
func fleetGet(ctx context.Context, f *fleet, o getOptions, output string, stdout, stderr io.Writer) error {
	if o.watch {
		return &usageError{"-w watches one daemon: not with --servers"}
	}
	if o.kind == "events" {
		if o.name != "" {
			return &usageError{"get events takes no name: use --for APP"}
		}
		return fleetEvents(ctx, f, o.forApp, output, stdout, stderr)
	}
	wide := output == "wide"
	answers := fanOut(ctx, f, func(ctx context.Context, c *client.Client) (hostList, error) {
		switch o.kind {
		case "apps":
			return hostApps(ctx, c, o.name, output == "" || wide, wide)
		case "instances":
			return hostInstances(ctx, c, o.name, wide)
		case "jobs":
			return hostJobs(ctx, c, o.name, wide) // get_jobs.go
		case "cronjobs":
			return hostCronJobs(ctx, c, o.name, wide)
		default:
			return hostManifests(ctx, c, o.name)
		}
	})
	failures := reportFailures(stderr, "proclet get", answers)
	var (
		items  []nodeItem
		lines  []string
		nodes  []string
		tables []*client.Table
	)
	for _, a := range answers {
		if a.err != nil {
			continue
		}
		for _, it := range a.val.items {
			items = append(items, nodeItem{node: a.node, item: it})
		}
		for _, n := range a.val.names {
			lines = append(lines, a.node+" "+n)
		}
		nodes, tables = append(nodes, a.node), append(tables, a.val.table)
	}
	var err error
	switch output {
	case "json", "yaml":
		err = printOut(stdout, output, itemList[nodeItem]{Items: nonNil(items)}, nil)
	case "name":
		for _, l := range lines {
			if _, err = fmt.Fprintln(stdout, l); err != nil {
				break
			}
		}
	default:
		if t := nodeTables(nodes, tables); t != nil {
			err = printOut(stdout, "", nil, t)
		} else if failures == nil {
			fmt.Fprintf(stderr, "No %s found.\n", o.kind)
		}
	}
	if err != nil {
		return err
	}
	return failures
}

// hostApps is one daemon's apps (or app name; none when it has no such
// app), with their instances when a table needs their age.
func hostApps(ctx context.Context, c *client.Client, name string, table, wide bool) (hostList, error) {
	var apps []v1alpha1.App
	if name != "" {
		app, err := c.App(ctx, name)
		if client.IsNotFound(err) {
			return hostList{}, nil
		}
		if err != nil {
			return hostList{}, err
		}
		apps = []v1alpha1.App{app}
	} else {
		var err error
		if apps, err = c.Apps(ctx); err != nil {
			return hostList{}, err
		}
	}
	l := hostList{names: prefixed("app/", appNames(apps))}
	for _, a := range apps {
		l.items = append(l.items, a)
	}
	if table && len(apps) > 0 {
		insts, err := c.Instances(ctx, name)
		if err != nil && !client.IsNotFound(err) {
			return hostList{}, err
		}
		l.table = appTable(apps, insts, wide)
	}
	return l, nil
}

// hostInstances is one daemon's instances (of app name only, when set;
// none when it has no such app).
func hostInstances(ctx context.Context, c *client.Client, name string, wide bool) (hostList, error) {
	insts, err := c.Instances(ctx, name)
	if client.IsNotFound(err) && name != "" {
		return hostList{}, nil
	}
	if err != nil {
		return hostList{}, err
	}
	l := hostList{table: instanceTable(insts, wide)}
	for _, in := range insts {
		l.items = append(l.items, in)
		l.names = append(l.names, "instance/"+in.Name)
	}
	return l, nil
}

// hostManifests is one daemon's manifest files (the one at path name only,
// when set).
func hostManifests(ctx context.Context, c *client.Client, name string) (hostList, error) {
	files, err := c.Manifests(ctx)
	if err != nil {
		return hostList{}, err
	}
	if name != "" {
		files = slices.DeleteFunc(files, func(f v1alpha1.FileStatus) bool { return f.Path != name })
	}
	l := hostList{table: client.ManifestTable(files)}
	for _, fs := range files {
		l.items = append(l.items, fs)
		l.names = append(l.names, "manifest/"+fs.Path)
	}
	return l, nil
}

// nodeEvent is an event and the node it happened on.
type nodeEvent struct {
	node string
	ev   v1alpha1.Event
}

// fleetEvents prints every daemon's recent events merged, oldest first.
func fleetEvents(ctx context.Context, f *fleet, app, output string, stdout, stderr io.Writer) error {
	answers := fanOut(ctx, f, func(ctx context.Context, c *client.Client) ([]v1alpha1.Event, error) {
		return c.Events(ctx, app, 0)
	})
	failures := reportFailures(stderr, "proclet get", answers)
	var all []nodeEvent
	for _, a := range answers {
		for _, e := range a.val {
			all = append(all, nodeEvent{a.node, e})
		}
	}
	slices.SortStableFunc(all, func(a, b nodeEvent) int { return a.ev.Time.Compare(b.ev.Time) })
	var err error
	if output != "" {
		items := make([]nodeItem, len(all))
		for i, e := range all {
			items[i] = nodeItem{node: e.node, item: e.ev}
		}
		err = printOut(stdout, output, itemList[nodeItem]{Items: items}, nil)
	} else if len(all) == 0 {
		if failures == nil {
			fmt.Fprintln(stderr, "No events found.")
		}
	} else {
		now := time.Now()
		nodes, tables := make([]string, len(all)), make([]*client.Table, len(all))
		for i, e := range all {
			nodes[i], tables[i] = e.node, client.EventTable([]v1alpha1.Event{e.ev}, now)
		}
		err = printOut(stdout, "", nil, nodeTables(nodes, tables))
	}
	if err != nil {
		return err
	}
	return failures
}

func prefixed(prefix string, names []string) []string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = prefix + n
	}
	return out
}
