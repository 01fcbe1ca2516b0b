package main

import (
	"context"
	"fmt"
	"strings"

	"proclet.dev/proclet/apis/v1alpha1"
	"proclet.dev/proclet/server/client"
)

// logInstances are the instances `proclet logs NAME` reads: for a Job,
// those of its current run (NAME-RUN-*); for a CronJob, those of its
// newest run; for an app, all of its instances (what the daemon lists
// under name). A Job's older runs are read by instance:
// `proclet logs migrate/migrate-1-0`.
func logInstances(ctx context.Context, c *client.Client, name string) ([]v1alpha1.Instance, error) {
	if j, err := c.Job(ctx, name); err == nil {
		var run string
		if j.Status != nil && j.Status.Run > 0 {
			run = fmt.Sprintf("%s-%d", name, j.Status.Run)
		}
		return runInstances(ctx, c, v1alpha1.KindJob, name, run)
	}
	if cj, err := c.CronJob(ctx, name); err == nil {
		var run string
		if cj.Status != nil && len(cj.Status.Runs) > 0 {
			run = cj.Status.Runs[0].Name // newest first
		}
		return runInstances(ctx, c, v1alpha1.KindCronJob, name, run)
	}
	// Not a Job or CronJob (or a daemon without them): an app.
	return c.Instances(ctx, name)
}

// runInstances are the instances of the run named run (NAME-RUN) of a Job
// or CronJob; none when run is "" (no run yet).
func runInstances(ctx context.Context, c *client.Client, kind, name, run string) ([]v1alpha1.Instance, error) {
	if run == "" {
		return nil, nil
	}
	insts, err := c.JobInstances(ctx, kind, name)
	if err != nil {
		return nil, err
	}
	out := insts[:0]
	for _, in := range insts {
		if strings.HasPrefix(in.Name, run+"-") {
			out = append(out, in)
		}
	}
	return out, nil
}
