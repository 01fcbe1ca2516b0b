package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"proclet.dev/proclet/apis/v1alpha1"
	"proclet.dev/proclet/watchers"
)

func newValidateCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "validate FILE|DIR...",
		Short: "Check manifests without a daemon",
		Long: `Parse and validate every manifest file given, and every manifest under each
folder given as the daemon would read it, without a daemon, and print every problem
of each file in one pass, ordered by line, as FILE:LINE: FIELD: MESSAGE (duplicate
names across the kinds App, Job and CronJob, and dependsOn cycles, across all of them
too). Exit 1 on any problem, for CI in GitOps repositories. With no problem, it says
how many objects of each kind it checked.`,
		Example: `  proclet validate manifests/
  proclet validate ./apps ./jobs
  proclet validate manifests/web.yaml`,
		Args: argsBetween(1, -1, "want at least one file or directory"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if code := runValidate(args, cmd.OutOrStdout(), cmd.ErrOrStderr()); code != 0 {
				return &exitError{code: code}
			}
			return nil
		},
	}
}

// runValidate parses and validates every manifest file given, and every
// manifest under each folder given, without a daemon, and prints every
// problem of each file, ordered by line, as FILE:LINE: FIELD: MESSAGE.
// Exit 1 on any problem, for CI in GitOps repos.
func runValidate(args []string, stdout, stderr io.Writer) int {
	var checks []*v1alpha1.FileCheck
	problems := 0
	for _, arg := range args {
		c, p := checkPath(arg, stdout)
		checks = append(checks, c...)
		problems += p
	}
	// Across every file given, as the daemon would see them together:
	// duplicate names and dependency cycles, whatever else is wrong.
	v1alpha1.CheckSet(checks)
	counts := map[string]int{}
	for _, c := range checks {
		for _, e := range c.Errors {
			fmt.Fprintln(stdout, e.Error())
		}
		problems += len(c.Errors)
		for i := range c.Apps {
			counts[c.Apps[i].KindNoun()]++
		}
	}
	if problems > 0 {
		fmt.Fprintf(stderr, "%d problem(s)\n", problems)
		return 1
	}
	fmt.Fprintf(stderr, "%s, no problems\n", kindCounts(counts))
	return 0
}

// kindCounts says how many objects of each kind were checked: "2 app(s),
// 1 job(s), 1 cronjob(s)"; apps always, the other kinds when there are
// some.
func kindCounts(counts map[string]int) string {
	out := fmt.Sprintf("%d app(s)", counts["app"])
	for _, k := range []string{"job", "cronjob"} {
		if n := counts[k]; n > 0 {
			out += fmt.Sprintf(", %d %s(s)", n, k)
		}
	}
	return out
}

// checkPath checks one argument: a manifest file, or a folder read as
// the daemon reads its manifests directory. It prints what cannot be read
// at all and counts it.
func checkPath(arg string, out io.Writer) (checks []*v1alpha1.FileCheck, problems int) {
	files := []string{arg}
	if fi, err := os.Stat(arg); err == nil && fi.IsDir() {
		rels, err := watchers.ManifestFiles(arg)
		if err != nil {
			fmt.Fprintf(out, "%s: %v\n", arg, err)
			return nil, 1
		}
		files = files[:0]
		for _, rel := range rels {
			files = append(files, filepath.Join(arg, rel))
		}
	}
	for _, path := range files {
		data, err := watchers.ReadManifest(path)
		if err != nil {
			fmt.Fprintf(out, "%s: %v\n", path, err)
			problems++
			continue
		}
		checks = append(checks, v1alpha1.CheckFile(path, data))
	}
	return checks, problems
}
