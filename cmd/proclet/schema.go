package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"proclet.dev/proclet/apis/v1alpha1"
)

func newSchemaCmd() *cobra.Command {
	var kind string
	cmd := &cobra.Command{
		Use:   "schema [--kind KIND]",
		Short: "Print the manifests' JSON Schema",
		Long: `Print the JSON Schema (draft 2020-12) of the manifests on stdout: with --kind, that
of one kind (the same bytes as docs/schema/<kind>.json); without it, one self-contained
schema of every kind, which picks the kind's schema by the object's kind. For editors
(yaml-language-server) and CI.`,
		Example: `  proclet schema --kind App > app.schema.json
  proclet schema | jq '.["$defs"] | keys'`,
		Args: argsBetween(0, 0, "want no arguments"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if code := runSchema(kind, cmd.OutOrStdout(), cmd.ErrOrStderr()); code != 0 {
				return &exitError{code: code}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&kind, "kind", "", "print the schema of this kind only ("+strings.Join(v1alpha1.Kinds(), ", ")+")")
	return cmd
}

// runSchema prints the JSON Schema (draft 2020-12) of the manifests: of
// one kind when kind is set, else one self-contained schema of every kind.
// The schemas are v1alpha1's; docs/schema holds the same, as files.
func runSchema(kind string, stdout, stderr io.Writer) int {
	var out []byte
	var err error
	if kind == "" {
		out, err = v1alpha1.SchemaBundle()
	} else {
		out, err = v1alpha1.Schema(kind)
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
