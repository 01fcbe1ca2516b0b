package main

import (
	"github.com/spf13/cobra"
)

// newRunCmd is `proclet run`, the daemon. Its flags are defineDaemonFlags';
// the daemon itself is runDaemon.
func newRunCmd() *cobra.Command {
	var cfg daemonConfig
	cmd := &cobra.Command{
		Use:   "run [flags]",
		Short: "Run the daemon on a manifests directory",
		Long: `Run the daemon: read the manifests directory, run what it describes and keep
it converged, serve the REST API, until SIGTERM or SIGINT. Every flag is
described in docs/operating.md.`,
		Example: `  # the shipped examples, the API on the default address
  proclet run --manifests manifests --state-dir .proclet --listen 127.0.0.1:9090

  # a git-sync checkout, instances left running when the daemon stops
  proclet run --manifests /srv/git/current --on-exit keep --api-key-file /etc/proclet/keys`,
		Args:              cobra.ArbitraryArgs, // finishDaemonFlags names an extra argument
		ValidArgsFunction: cobra.NoFileCompletions,
	}
	logFileMode := defineDaemonFlags(cmd.Flags(), &cfg)
	cmd.Flags().SortFlags = false
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		if err := finishDaemonFlags(&cfg, args, *logFileMode); err != nil {
			return &exitError{code: 2, msg: err.Error()}
		}
		if code := runDaemon(cfg); code != 0 {
			return &exitError{code: code}
		}
		return nil
	}
	return cmd
}
