package main

import (
	"flag"
	"fmt"
	"io"
	"strings"

	"proclet.dev/proclet/apis/v1alpha1"
)

// runSchema prints the JSON Schema (draft 2020-12) of the manifests: of
// one kind with --kind, else one self-contained schema of every kind. The
// schemas are v1alpha1's; docs/schema holds the same, as files.
func runSchema(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("schema", flag.ContinueOnError)
	fs.SetOutput(stderr)
	kind := fs.String("kind", "", "print the schema of this kind only ("+strings.Join(v1alpha1.Kinds(), ", ")+")")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: proclet schema [--kind KIND]")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fs.Usage()
		return 2
	}
	var out []byte
	var err error
	if *kind == "" {
		out, err = v1alpha1.SchemaBundle()
	} else {
		out, err = v1alpha1.Schema(*kind)
	}
	if err != nil {
		fmt.Fprintf(stderr, "proclet schema: %v\n", err)
		return 2
	}
	if _, err := stdout.Write(out); err != nil {
		fmt.Fprintf(stderr, "proclet schema: %v\n", err)
		return 1
	}
	return 0
}
