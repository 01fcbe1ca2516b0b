package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"os"

	"github.com/spf13/cobra"

	"proclet.dev/proclet/server/client"
)

// newFleetCmd is `proclet fleet`: commands about many daemons at once.
// The other client commands take --servers too.
func newFleetCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "fleet",
		Short: "Commands of many daemons at once (targets)",
		Long: `Commands about many daemons at once. get, describe, logs and rollout status
take --servers as well (docs/fleet.md).`,
		Example: `  proclet fleet targets --servers @hosts.txt
  proclet get apps --servers h1:9090,h2:9090`,
		Args: unknownCommand,
	}
	cmd.AddCommand(newFleetTargetsCmd())
	return cmd
}

func newFleetTargetsCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "targets --servers HOSTS",
		Short: "Print every daemon's Prometheus targets as one file_sd JSON",
		Long: `Ask every daemon of --servers for its Prometheus targets (GET /api/v1/targets)
and print them as one JSON list of target groups, the format of Prometheus'
file_sd_configs. Each group gets the label node (the daemon's node name, or
its host:port when it has none) unless the daemon gave it one. Write it to a
temporary file and rename it over the one Prometheus reads: Prometheus
rereads the file when it changes. Exit 1 when a daemon did not answer (its
targets are then left out: keep the previous file if that is not wanted).`,
		Example: `  proclet fleet targets --servers @hosts.txt > targets.json.tmp && mv targets.json.tmp /etc/prometheus/proclet/targets.json`,
		Args:    argsBetween(0, 0, "fleet targets takes no argument: give the daemons with --servers"),
	}
	ff := addFleetFlags(cmd)
	cacert := cmd.Flags().String("cacert", os.Getenv("PROCLET_CACERT"), "PEM `file` of the CA certificates https:// daemons are checked against instead of the system's (PROCLET_CACERT sets the default)")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		if !ff.active() {
			return &usageError{"give the daemons with --servers (or PROCLET_SERVERS)"}
		}
		if err := ff.check(nil); err != nil {
			return err
		}
		return fleetTargets(cmd.Context(), ff.fleet(*cacert), cmd.OutOrStdout(), cmd.ErrOrStderr())
	}
	return cmd
}

// fleetTargets prints every daemon's target groups, in the order of the
// hosts, each labelled with its node.
func fleetTargets(ctx context.Context, f *fleet, stdout, stderr io.Writer) error {
	answers := fanOut(ctx, f, func(ctx context.Context, c *client.Client) ([]client.TargetGroup, error) {
		return c.Targets(ctx)
	})
	failures := reportFailures(stderr, "proclet fleet targets", answers)
	groups := []client.TargetGroup{}
	for _, a := range answers {
		for _, g := range a.val {
			labels := maps.Clone(g.Labels)
			if labels == nil {
				labels = map[string]string{}
			}
			if _, ok := labels["node"]; !ok {
				labels["node"] = a.node
			}
			groups = append(groups, client.TargetGroup{Targets: g.Targets, Labels: labels})
		}
	}
	b, err := json.MarshalIndent(groups, "", "  ")
	if err != nil {
		return fmt.Errorf("encoding JSON: %w", err)
	}
	if _, err := fmt.Fprintf(stdout, "%s\n", b); err != nil {
		return err
	}
	return failures
}
