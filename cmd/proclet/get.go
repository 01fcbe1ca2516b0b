package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"time"

	"proclet.dev/proclet/apis/v1alpha1"
	"proclet.dev/proclet/server/client"
)

const getUsage = "proclet get apps [NAME] | instances [APP] [-o json|yaml] [--server URL]"

// runGet is `proclet get apps [NAME]` and `proclet get instances [APP]`:
// kubectl-like tables, or the API's objects with -o json|yaml.
func runGet(args []string, stdout, stderr io.Writer) int {
	fs, cf := newClientFlags("get", getUsage, true, stderr)
	pos, err := parseArgs(fs, args)
	if err != nil {
		return flagExit(err)
	}
	return exitCode(fs, stderr, get(context.Background(), cf, pos, stdout, stderr))
}

func get(ctx context.Context, cf *clientFlags, pos []string, stdout, stderr io.Writer) error {
	if err := cf.checkOutput(); err != nil {
		return &usageError{err.Error()}
	}
	if len(pos) == 0 || len(pos) > 2 {
		return &usageError{"want a kind (apps or instances) and at most one name"}
	}
	name := ""
	if len(pos) == 2 {
		name = pos[1]
	}
	c := cf.client()
	switch pos[0] {
	case "apps", "app":
		return getApps(ctx, c, cf.output, name, stdout, stderr)
	case "instances", "instance":
		insts, err := c.Instances(ctx, name)
		if err != nil {
			return err
		}
		if len(insts) == 0 && cf.output == "" {
			fmt.Fprintln(stderr, "No instances found.")
			return nil
		}
		return printOut(stdout, cf.output, itemList[v1alpha1.Instance]{Items: nonNil(insts)}, client.InstanceTable(insts, time.Now()))
	default:
		return &usageError{fmt.Sprintf("unknown kind %q: want apps or instances", pos[0])}
	}
}

func getApps(ctx context.Context, c *client.Client, output, name string, stdout, stderr io.Writer) error {
	var (
		apps []v1alpha1.App
		obj  any
		err  error
	)
	if name != "" {
		app, err := c.App(ctx, name)
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
	if output != "" {
		return printOut(stdout, output, obj, nil)
	}
	if len(apps) == 0 {
		fmt.Fprintln(stderr, "No apps found.")
		return nil
	}
	// AGE is the app's creationTimestamp (the oldest instance's from a
	// daemon that keeps none).
	insts, err := c.Instances(ctx, name)
	if err != nil {
		return err
	}
	return printOut(stdout, "", nil, client.AppTable(apps, insts, time.Now()))
}

// flagExit is the exit code of a flag parsing error (already printed by
// the flag package with the usage): 0 for -h, else 2.
func flagExit(err error) int {
	if err == flag.ErrHelp {
		return 0
	}
	return 2
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
