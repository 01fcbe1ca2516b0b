package main

import (
	"context"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"proclet.dev/proclet/apis/v1alpha1"
	"proclet.dev/proclet/server/client"
	"proclet.dev/proclet/watchers"
)

func newDiffCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "diff DIR",
		Short: "Show what the daemon would change if DIR were its manifests directory",
		Long: `Show what the daemon would change if DIR were its manifests directory, one
line per app that differs, after the problems of DIR's files. Like diff(1):
exit 0 when nothing differs, 1 when something does, 2 on trouble (DIR or the
daemon cannot be read, or a file of DIR is invalid).`,
		Example: `  # review a branch's manifests before a merge
  proclet diff ./manifests; echo $?`,
		Args: argsBetween(1, 1, "want exactly one directory"),
	}
	cf := addClientFlags(cmd)
	cmd.ValidArgsFunction = dirsOnly
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		if code := runDiff(cf, args[0], cmd.OutOrStdout(), cmd.ErrOrStderr()); code != 0 {
			return &exitError{code: code}
		}
		return nil
	}
	return cmd
}

// runDiff is `proclet diff DIR`: what the daemon would change if DIR were
// its manifests directory. Like diff(1): exit 0 when nothing differs, 1
// when something does, 2 on trouble: the daemon or DIR cannot be read, or
// a file of DIR is invalid (its apps cannot be compared; the problems are
// printed with the rest).
func runDiff(cf *clientFlags, dir string, stdout, stderr io.Writer) int {
	snap, err := watchers.ReadOnce(dir)
	if err != nil {
		fmt.Fprintf(stderr, "proclet diff: %v\n", err)
		return 2
	}
	apps, err := remoteObjects(cf.client())
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

// remoteObjects is what the daemon runs, as Diff compares it: its apps,
// then its Jobs and CronJobs as carriers (none from a daemon that has no
// job endpoints).
func remoteObjects(c *client.Client) ([]v1alpha1.App, error) {
	ctx := context.Background()
	apps, err := c.Apps(ctx)
	if err != nil {
		return nil, err
	}
	jobs, err := c.Jobs(ctx)
	if err != nil && !client.IsNotFound(err) {
		return nil, err
	}
	crons, err := c.CronJobs(ctx)
	if err != nil && !client.IsNotFound(err) {
		return nil, err
	}
	return append(apps, client.JobCarriers(jobs, crons)...), nil
}
