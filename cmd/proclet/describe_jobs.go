package main

import (
	"context"
	"io"
	"time"

	"proclet.dev/proclet/apis/v1alpha1"
	"proclet.dev/proclet/server/client"
)

// describeKinds maps what `describe KIND NAME` accepts to its kind.
var describeKinds = map[string]string{
	"app": v1alpha1.KindApp, "apps": v1alpha1.KindApp,
	"job": v1alpha1.KindJob, "jobs": v1alpha1.KindJob,
	"cronjob": v1alpha1.KindCronJob, "cronjobs": v1alpha1.KindCronJob, "cj": v1alpha1.KindCronJob,
}

// describeJob is `proclet describe job NAME` (kind KindJob) and `describe
// cronjob NAME` (KindCronJob): the object, the instances of its runs and
// the events of its name (an instance's events name the job as their app).
func describeJob(ctx context.Context, c *client.Client, kind, name string, stdout io.Writer) error {
	d := &client.JobDescription{}
	if kind == v1alpha1.KindCronJob {
		cj, err := c.CronJob(ctx, name)
		if err != nil {
			return err
		}
		d.CronJob = &cj
	} else {
		j, err := c.Job(ctx, name)
		if err != nil {
			return err
		}
		d.Job = &j
	}
	insts, err := c.JobInstances(ctx, kind, name)
	if err != nil {
		return err
	}
	d.Instances = insts
	d.Events, d.EventsErr = c.Events(ctx, name, describeEvents)
	if d.CronJob != nil {
		return client.DescribeCronJob(stdout, d, time.Now())
	}
	return client.DescribeJob(stdout, d, time.Now())
}

// jobKindOf is KindJob or KindCronJob when the daemon has a Job or a
// CronJob called name, else "" (an older daemon without them included).
func jobKindOf(ctx context.Context, c *client.Client, name string) string {
	if _, err := c.Job(ctx, name); err == nil {
		return v1alpha1.KindJob
	}
	if _, err := c.CronJob(ctx, name); err == nil {
		return v1alpha1.KindCronJob
	}
	return ""
}
