package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"proclet.dev/proclet/apis/v1alpha1"
	"proclet.dev/proclet/watchers"
)

// runValidate parses and validates every manifest file given, and every
// manifest under each folder given, without a daemon, and prints every
// problem of each file, ordered by line, as FILE:LINE: FIELD: MESSAGE.
// Exit 1 on any problem, for CI in GitOps repos.
func runValidate(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("validate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprintln(stderr, "Usage: proclet validate FILE|DIR...") }
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() == 0 {
		fs.Usage()
		return 2
	}
	var checks []*v1alpha1.FileCheck
	problems := 0
	for _, arg := range fs.Args() {
		c, p := checkPath(arg, stdout)
		checks = append(checks, c...)
		problems += p
	}
	// Across every file given, as the daemon would see them together:
	// duplicate names and dependency cycles, whatever else is wrong.
	v1alpha1.CheckSet(checks)
	apps := 0
	for _, c := range checks {
		for _, e := range c.Errors {
			fmt.Fprintln(stdout, e.Error())
		}
		problems += len(c.Errors)
		apps += len(c.Apps)
	}
	if problems > 0 {
		fmt.Fprintf(stderr, "%d problem(s)\n", problems)
		return 1
	}
	fmt.Fprintf(stderr, "%d app(s), no problems\n", apps)
	return 0
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
