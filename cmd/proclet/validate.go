package main

import (
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"proclet.dev/proclet/apis/v1alpha1"
	"proclet.dev/proclet/watchers"
)

func newValidateCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "validate DIR...",
		Short: "Check manifests without a daemon",
		Long: `Parse and validate every manifest under each DIR as the daemon would read it,
without a daemon, and print one FILE:LINE: FIELD: MESSAGE line per problem.
Exit 1 on any problem, for CI in GitOps repositories.`,
		Example: `  proclet validate manifests/
  proclet validate ./apps ./jobs`,
		Args:              argsBetween(1, -1, "want at least one directory"),
		ValidArgsFunction: dirsOnly,
		RunE: func(cmd *cobra.Command, args []string) error {
			if code := runValidate(args, cmd.OutOrStdout(), cmd.ErrOrStderr()); code != 0 {
				return &exitError{code: code}
			}
			return nil
		},
	}
}

// runValidate parses and validates every manifest under each DIR without a
// daemon and prints one FILE:LINE: FIELD: MESSAGE line per problem. Exit 1
// on any problem, for CI in GitOps repos.
func runValidate(dirs []string, stdout, stderr io.Writer) int {
	problems, apps := 0, 0
	for _, dir := range dirs {
		n, p := validateDir(dir, stdout)
		apps += n
		problems += p
	}
	if problems > 0 {
		fmt.Fprintf(stderr, "%d problem(s)\n", problems)
		return 1
	}
	fmt.Fprintf(stderr, "%d app(s), no problems\n", apps)
	return 0
}

// validateDir checks one directory as the daemon would read it: every file,
// then the set (duplicate names, dependency cycles).
func validateDir(dir string, out io.Writer) (apps, problems int) {
	files, err := watchers.ManifestFiles(dir)
	if err != nil {
		fmt.Fprintf(out, "%s: %v\n", dir, err)
		return 0, 1
	}
	var all []v1alpha1.App
	firstFile := map[string]string{}
	for _, rel := range files {
		shown := filepath.Join(dir, rel)
		data, err := watchers.ReadManifest(filepath.Join(dir, rel))
		if err != nil {
			fmt.Fprintf(out, "%s: %v\n", shown, err)
			problems++
			continue
		}
		decoded, err := v1alpha1.DecodeFile(shown, data)
		var list v1alpha1.ErrorList
		if errors.As(err, &list) {
			for _, e := range list {
				fmt.Fprintln(out, e.Error())
			}
			problems += len(list)
			continue
		} else if err != nil {
			fmt.Fprintf(out, "%s: %v\n", shown, err)
			problems++
			continue
		}
		for _, a := range decoded {
			if prev, ok := firstFile[a.Metadata.Name]; ok {
				fmt.Fprintf(out, "%s: metadata.name: app %q is already defined in %s (%s)\n", shown, a.Metadata.Name, prev, v1alpha1.ReasonDuplicateName)
				problems++
				continue
			}
			firstFile[a.Metadata.Name] = shown
			all = append(all, a)
		}
	}
	for _, c := range v1alpha1.DependencyCycles(all) {
		fmt.Fprintf(out, "%s: spec.dependsOn: dependency cycle: %s\n", firstFile[c[0]], strings.Join(c, " -> "))
		problems++
	}
	return len(all), problems
}
