package main

import (
	"context"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"proclet.dev/proclet/apis/v1alpha1"
	"proclet.dev/proclet/watchers"
)

// completionTimeout bounds what a completion asks the daemon: with no
// daemon answering, the shell gets no names, quickly and silently.
const completionTimeout = time.Second

// noFiles is the directive of names that are never files.
const noFiles = cobra.ShellCompDirectiveNoFileComp

// completeApps completes app names from the daemon while fewer than
// maxArgs arguments are given (maxArgs < 0: for a flag's value).
func completeApps(cf *clientFlags, maxArgs int) cobra.CompletionFunc {
	return func(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		if maxArgs >= 0 && len(args) >= maxArgs {
			return nil, noFiles
		}
		apps, _ := daemonNames(cmd.Context(), cf)
		return withPrefix(apps, toComplete), noFiles
	}
}

// completeGet completes the kind, then the apps' names (of get apps), the
// names of the apps, jobs and cronjobs (of get instances NAME), the jobs'
// or cronjobs' names, or the manifests' paths.
func completeGet(cf *clientFlags) cobra.CompletionFunc {
	return func(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		switch {
		case len(args) == 0:
			return withPrefix([]string{"apps", "instances", "jobs", "cronjobs", "manifests", "events"}, toComplete), noFiles
		case len(args) > 1:
			return nil, noFiles
		}
		switch getKinds[args[0]] {
		case "apps":
			apps, _ := daemonNames(cmd.Context(), cf)
			return withPrefix(apps, toComplete), noFiles
		case "instances":
			owners, _ := ownerNames(cmd.Context(), cf) // complete_jobs.go
			return withPrefix(owners, toComplete), noFiles
		case "jobs":
			return withPrefix(namesOfKind(cmd.Context(), cf, v1alpha1.KindJob), toComplete), noFiles
		case "cronjobs":
			return withPrefix(namesOfKind(cmd.Context(), cf, v1alpha1.KindCronJob), toComplete), noFiles
		case "manifests":
			return withPrefix(daemonManifests(cmd.Context(), cf), toComplete), noFiles
		}
		return nil, noFiles
	}
}

// completeLogTargets completes logs' argument: app, job and cronjob names,
// instance names, and APP/INSTANCE once an app (or job) and a slash are
// typed.
func completeLogTargets(cf *clientFlags) cobra.CompletionFunc {
	return func(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		if len(args) > 0 {
			return nil, noFiles
		}
		apps, insts := ownerNames(cmd.Context(), cf)
		if app, _, ok := strings.Cut(toComplete, "/"); ok {
			var out []string
			for _, in := range insts {
				if strings.HasPrefix(in, app+"-") {
					out = append(out, app+"/"+in)
				}
			}
			return withPrefix(out, toComplete), noFiles
		}
		all := append(apps, insts...)
		sort.Strings(all)
		return withPrefix(all, toComplete), noFiles
	}
}

// daemonNames asks the daemon for its apps' and instances' names within
// completionTimeout; nothing when it does not answer.
func daemonNames(ctx context.Context, cf *clientFlags) (apps, instances []string) {
	ctx, cancel := context.WithTimeout(ctx, completionTimeout)
	defer cancel()
	c := cf.client()
	list, err := c.Apps(ctx)
	if err != nil {
		return nil, nil
	}
	apps = appNames(list)
	insts, err := c.Instances(ctx, "")
	if err == nil {
		for _, in := range insts {
			instances = append(instances, in.Name)
		}
	}
	sort.Strings(apps)
	sort.Strings(instances)
	return apps, instances
}

func daemonManifests(ctx context.Context, cf *clientFlags) []string {
	ctx, cancel := context.WithTimeout(ctx, completionTimeout)
	defer cancel()
	files, err := cf.client().Manifests(ctx)
	if err != nil {
		return nil
	}
	out := make([]string, len(files))
	for i, f := range files {
		out[i] = f.Path
	}
	return out
}

// manifestAppNames completes rollout restart's app from the manifests
// directory it edits (it needs no daemon).
func manifestAppNames(dir string, nargs int) []string {
	if nargs > 0 {
		return nil
	}
	snap, err := watchers.ReadOnce(dir)
	if err != nil {
		return nil
	}
	var out []string
	for _, sa := range snap.Apps {
		out = append(out, sa.App.Metadata.Name)
	}
	sort.Strings(out)
	return out
}

// dirsOnly completes directories: the arguments of diff.
func dirsOnly(*cobra.Command, []string, string) ([]cobra.Completion, cobra.ShellCompDirective) {
	return nil, cobra.ShellCompDirectiveFilterDirs
}

func withPrefix(names []string, prefix string) []string {
	var out []string
	for _, n := range names {
		if strings.HasPrefix(n, prefix) {
			out = append(out, n)
		}
	}
	return out
}
