package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

const rootLong = `proclet runs processes from a directory of manifests.

'proclet run' is the daemon and 'proclet validate' checks manifests without
one. The other commands are clients of a running daemon: they find it with
--server URL, else PROCLET_SERVER, else ` + defaultServer + `, and send
PROCLET_API_KEY as a bearer token when it is set.`

// newRootCmd builds the command tree; output goes to stdout (help
// included) and errors to stderr.
func newRootCmd(stdout, stderr io.Writer) *cobra.Command {
	root := &cobra.Command{
		Use:           "proclet",
		Short:         "Run OS processes from a directory of manifests, the way Kubernetes runs pods",
		Long:          rootLong,
		Version:       version,
		SilenceErrors: true,
		SilenceUsage:  true,
		Args:          unknownCommand,
		RunE: func(cmd *cobra.Command, args []string) error {
			cmd.SetOut(cmd.ErrOrStderr())
			_ = cmd.Help()
			return &exitError{code: 2}
		},
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.SuggestionsMinimumDistance = 2
	setHelp(root)
	root.SetVersionTemplate(`{{printf "proclet %s\n" .Version}}`)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return &usageError{err.Error()} })
	root.AddGroup(&cobra.Group{ID: "daemon", Title: "The daemon and its manifests:"},
		&cobra.Group{ID: "client", Title: "Commands of a running daemon:"})
	for _, c := range []*cobra.Command{newRunCmd(), newValidateCmd(), newSchemaCmd()} {
		c.GroupID = "daemon"
		root.AddCommand(c)
	}
	for _, c := range []*cobra.Command{newGetCmd(), newDescribeCmd(), newLogsCmd(), newDiffCmd(), newRolloutCmd(), newFleetCmd()} {
		c.GroupID = "client"
		root.AddCommand(c)
	}
	root.AddCommand(newVersionCmd())
	return root
}

// unknownCommand is the Args of a command whose arguments are
// subcommands: any argument is a usage mistake, with cobra's suggestions.
func unknownCommand(cmd *cobra.Command, args []string) error {
	if len(args) == 0 {
		return nil
	}
	msg := fmt.Sprintf("unknown command %q for %q", args[0], cmd.CommandPath())
	if s := cmd.SuggestionsFor(args[0]); len(s) > 0 {
		msg += "\n\nDid you mean this?\n\t" + strings.Join(s, "\n\t")
	}
	return &usageError{msg}
}

// argsBetween accepts min to max positional arguments (max < 0: any
// number); otherwise a usage error says what is wanted.
func argsBetween(min, max int, want string) cobra.PositionalArgs {
	return func(_ *cobra.Command, args []string) error {
		if len(args) < min || (max >= 0 && len(args) > max) {
			return &usageError{want}
		}
		return nil
	}
}

// legacyFlags rewrites a long flag written with one dash (-manifests DIR,
// -follow: Go's flag package accepted them, and earlier versions used it)
// into the GNU form pflag reads, for the flags of the command args name.
// A single letter after the dash is a shorthand and stays as it is.
func legacyFlags(root *cobra.Command, args []string) []string {
	cmd, _, err := root.Find(args)
	if err != nil {
		return args
	}
	long := map[string]bool{}
	add := func(f *pflag.Flag) { long[f.Name] = true }
	cmd.Flags().VisitAll(add)
	cmd.InheritedFlags().VisitAll(add)
	out := make([]string, len(args))
	copy(out, args)
	for i, a := range out {
		if a == "--" {
			break
		}
		if len(a) < 3 || a[0] != '-' || a[1] == '-' {
			continue
		}
		name, _, _ := strings.Cut(a[1:], "=")
		if len(name) > 1 && long[name] {
			out[i] = "-" + a
		}
	}
	return out
}
