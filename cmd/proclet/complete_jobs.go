package main

import (
	"context"
	"sort"

	"github.com/spf13/cobra"

	"proclet.dev/proclet/apis/v1alpha1"
)

// daemonJobNames asks the daemon for its Jobs' and CronJobs' names within
// completionTimeout; nothing when it does not answer.
func daemonJobNames(ctx context.Context, cf *clientFlags) (jobs, cronJobs []string) {
	ctx, cancel := context.WithTimeout(ctx, completionTimeout)
	defer cancel()
	c := cf.client()
	if list, err := c.Jobs(ctx); err == nil {
		jobs = jobNames(list)
	}
	if list, err := c.CronJobs(ctx); err == nil {
		cronJobs = cronJobNames(list)
	}
	sort.Strings(jobs)
	sort.Strings(cronJobs)
	return jobs, cronJobs
}

// completeDescribe completes describe's arguments: an app's name, or the
// kind job (cronjob) when the daemon has Jobs (CronJobs); then the names
// of that kind. One completionTimeout bounds all the daemon is asked.
func completeDescribe(cf *clientFlags) cobra.CompletionFunc {
	return func(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		ctx, cancel := context.WithTimeout(cmd.Context(), completionTimeout)
		defer cancel()
		switch len(args) {
		case 0:
			apps, _ := daemonNames(ctx, cf)
			jobs, cjs := daemonJobNames(ctx, cf)
			var kinds []string
			if len(jobs) > 0 {
				kinds = append(kinds, "job")
			}
			if len(cjs) > 0 {
				kinds = append(kinds, "cronjob")
			}
			return withPrefix(append(apps, kinds...), toComplete), noFiles
		case 1:
			return withPrefix(namesOfKind(ctx, cf, describeKinds[args[0]]), toComplete), noFiles
		}
		return nil, noFiles
	}
}

// namesOfKind are the daemon's names of kind (KindApp, KindJob,
// KindCronJob); none for another.
func namesOfKind(ctx context.Context, cf *clientFlags, kind string) []string {
	switch kind {
	case v1alpha1.KindApp:
		apps, _ := daemonNames(ctx, cf)
		return apps
	case v1alpha1.KindJob:
		jobs, _ := daemonJobNames(ctx, cf)
		return jobs
	case v1alpha1.KindCronJob:
		_, cjs := daemonJobNames(ctx, cf)
		return cjs
	}
	return nil
}

// ownerNames are the names whose instances `get instances NAME` and
// `logs NAME` take: apps, jobs and cronjobs, sorted.
func ownerNames(ctx context.Context, cf *clientFlags) (owners, instances []string) {
	ctx, cancel := context.WithTimeout(ctx, completionTimeout)
	defer cancel()
	apps, insts := daemonNames(ctx, cf)
	jobs, cjs := daemonJobNames(ctx, cf)
	owners = append(append(apps, jobs...), cjs...)
	sort.Strings(owners)
	return owners, insts
}
