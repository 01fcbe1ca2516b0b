package main

import (
	"context"
	"fmt"
	"io"
	"regexp"
	goruntime "runtime"
	"runtime/debug"
	"time"

	"github.com/spf13/cobra"
)

// versionTimeout bounds the question to the daemon: `proclet version`
// answers at once when no daemon does.
const versionTimeout = 2 * time.Second

// semverRE is a tag vMAJOR.MINOR.PATCH, with what git describe adds past it.
var semverRE = regexp.MustCompile(`^v[0-9]+\.[0-9]+\.[0-9]+([-+].*)?$`)

// semanticVersion is the version the binary reports: the tag it was built
// from (or git describe's "v0.3.0-4-gabc1234" past one), else
// v0.0.0-dev+COMMIT.
func semanticVersion(v, commit string) string {
	if semverRE.MatchString(v) {
		return v
	}
	if commit == "" {
		commit = "unknown"
	}
	return "v0.0.0-dev+" + commit
}

// vcsRevision is the commit go build recorded (a build without make's
// -ldflags), shortened as git does; "unknown" without one.
func vcsRevision() string {
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" && len(s.Value) >= 7 {
				return s.Value[:7]
			}
		}
	}
	return "unknown"
}

func newVersionCmd() *cobra.Command {
	var clientOnly bool
	cmd := &cobra.Command{
		Use:   "version",
		Short: "Print the client's version, its Go version, and the daemon's version",
		Long: `Print this binary's semantic version and commit, the Go version it was built
with, and the version of the daemon at --server when one answers (within 2s;
'unavailable' otherwise, still exit 0).`,
		Example: `  proclet version
  proclet version --client`,
		Args:              argsBetween(0, 0, "version takes no arguments"),
		ValidArgsFunction: cobra.NoFileCompletions,
	}
	cf := addClientFlags(cmd)
	cmd.Flags().BoolVar(&clientOnly, "client", false, "print the client's version only, without asking the daemon")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		printVersion(cmd.OutOrStdout())
		if clientOnly {
			return nil
		}
		ctx, cancel := context.WithTimeout(cmd.Context(), versionTimeout)
		defer cancel()
		printServerVersion(ctx, cf, cmd.OutOrStdout())
		return nil
	}
	return cmd
}

func printVersion(w io.Writer) {
	fmt.Fprintf(w, "Client Version: %s\nGo Version: %s %s/%s\n", version, goruntime.Version(), goruntime.GOOS, goruntime.GOARCH)
}

func printServerVersion(ctx context.Context, cf *clientFlags, w io.Writer) {
	c := cf.client()
	v, err := c.Version(ctx)
	if err != nil {
		fmt.Fprintf(w, "Server Version: unavailable (%v)\n", err)
		return
	}
	fmt.Fprintf(w, "Server Version: %s (%s)\n", v, c.BaseURL())
}
