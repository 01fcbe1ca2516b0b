package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"proclet.dev/proclet/apis/v1alpha1"
	"proclet.dev/proclet/server/client"
)

// rolloutPollInterval is how often `rollout status` asks the daemon.
const rolloutPollInterval = 500 * time.Millisecond

// newRolloutStatusCmd is `proclet rollout status APP`: it waits until
// every replica of APP runs its newest revision and is available, printing
// each new progress line, as kubectl rollout status does.
func newRolloutStatusCmd() *cobra.Command {
	var o statusOptions
	cmd := &cobra.Command{
		Use:   "status APP",
		Short: "Wait until an app's rollout finishes",
		Long: `Wait until every replica of APP runs its newest revision and is available,
printing a line each time the progress changes. Exit 1 when the rollout
exceeds its progress deadline, the app's manifest is invalid, or --timeout
passes. With --servers, every host that selects APP (has it and is not
NotScheduled) must finish; the hosts still waiting at --timeout are named.`,
		Example: `  proclet rollout status web
  proclet rollout status web --revision 70a37e50f7 --timeout 5m

  # the ring gate: every canary host that selects web runs commit 4f2a9c1's spec
  proclet rollout status web --servers @canary.txt --commit 4f2a9c1 --timeout 10m`,
		Args: argsBetween(1, 1, "want exactly one app"),
	}
	cf := addClientFlags(cmd)
	ff := addFleetFlags(cmd)
	cmd.ValidArgsFunction = completeApps(cf, 1)
	cmd.Flags().StringVar(&o.commit, "commit", "", "wait for the daemon to read the manifests of this commit (status.sourceRevision, a git-sync checkout's name, starts with it)")
	cmd.Flags().DurationVar(&o.timeout, "timeout", 0, "give up after this long (0: wait until the rollout finishes or fails)")
	cmd.Flags().StringVar(&o.revision, "revision", "", "wait for this revision to be the app's first (as printed by rollout restart)")
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		if o.timeout < 0 {
			return &usageError{fmt.Sprintf("--timeout %s: want a duration of 0 or more", o.timeout)}
		}
		o.interval = rolloutPollInterval
		if err := ff.check(cmd); err != nil {
			return err
		}
		if ff.active() {
			return fleetRolloutStatus(cmd.Context(), ff.fleet(cf.cacert), args[0], o, cmd.OutOrStdout(), cmd.ErrOrStderr())
		}
		return rolloutStatus(cmd.Context(), cf.client(), args[0], o, cmd.OutOrStdout())
	}
	return cmd
}

type statusOptions struct {
	timeout  time.Duration // 0: none
	revision string        // wait for the daemon to run this one first
	commit   string        // wait for the daemon to read this commit first
	interval time.Duration // between two looks
}

// rolloutStatus polls the app until rolloutProgress says it is done or
// failed, or the timeout passes.
func rolloutStatus(ctx context.Context, c *client.Client, name string, o statusOptions, stdout io.Writer) error {
	if o.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, o.timeout)
		defer cancel()
	}
	last := ""
	timedOut := func() error {
		return fmt.Errorf("timed out after %s waiting for the rollout of app %q (%s)", o.timeout, name, last)
	}
	return pollProgress(ctx, o.interval, stdout, &last, timedOut, func(ctx context.Context) (string, bool, error) {
		app, err := c.App(ctx, name)
		var insts []v1alpha1.Instance
		if err == nil {
			insts, err = c.Instances(ctx, name)
		}
		if err != nil {
			return "", false, err
		}
		msg, done, err := rolloutProgress(app, insts, o.revision)
		if cmsg, ok := commitProgress(app, o.commit); !ok {
			msg, done, err = cmsg, false, nil
		}
		return msg, done, err
	})
}

// pollProgress calls look every interval until it says done or fails,
// printing each new progress line once (*last is the one printed last).
// When ctx's deadline passes (during a look, or between two) it returns
// timedOut().
func pollProgress(ctx context.Context, interval time.Duration, stdout io.Writer, last *string,
	timedOut func() error, look func(context.Context) (msg string, done bool, err error)) error {
	for {
		msg, done, err := look(ctx)
		if err != nil {
			if errors.Is(ctx.Err(), context.DeadlineExceeded) {
				return timedOut()
			}
			return err
		}
		if msg != *last {
			fmt.Fprintln(stdout, msg)
			*last = msg
		}
		if done {
			return nil
		}
		t := time.NewTimer(interval)
		select {
		case <-ctx.Done():
			t.Stop()
			return timedOut()
		case <-t.C:
		}
	}
}

// rolloutProgress is where app's rollout is: a progress line, whether it
// is done, or why it failed (a ProgressDeadlineExceeded app, an invalid
// manifest). It is a pure function of what the API answered.
func rolloutProgress(app v1alpha1.App, insts []v1alpha1.Instance, wantRev string) (string, bool, error) {
	name, st := app.Metadata.Name, app.Status
	if st == nil {
		return fmt.Sprintf("Waiting for the daemon to report app %q's status...", name), false, nil
	}
	if c := findCondition(st, v1alpha1.ConditionManifestValid); c != nil && c.Status == v1alpha1.ConditionFalse {
		return "", false, fmt.Errorf("app %q is invalid (the daemon keeps its last good version): %s", name, c.Message)
	}
	if wantRev != "" && st.Revision != wantRev {
		return fmt.Sprintf("Waiting for the daemon to read revision %s (app %q is at %s)...", wantRev, name, st.Revision), false, nil
	}
	if app.Metadata.Generation > st.ObservedGeneration {
		return "Waiting for the rollout's spec update to be observed...", false, nil
	}
	if c := findCondition(st, v1alpha1.ConditionProgressing); c != nil && c.Reason == "ProgressDeadlineExceeded" {
		return "", false, fmt.Errorf("app %q exceeded its progress deadline: %s", name, c.Message)
	}
	want := int32(v1alpha1.DefaultReplicas)
	if app.Spec.Replicas != nil {
		want = *app.Spec.Replicas
	}
	old, completed := 0, int32(0) // completed: kept down by an OnFailure or Never policy
	for _, in := range insts {
		switch in.Phase {
		case v1alpha1.PhaseStarting, v1alpha1.PhaseRunning, v1alpha1.PhaseTerminating:
			if in.Revision != st.Revision {
				old++
			}
		case v1alpha1.PhaseSucceeded:
			if in.Revision == st.Revision {
				completed++
			}
		default:
			if strings.HasPrefix(string(in.Phase), "Init:") && in.Revision != st.Revision { // in its init steps
				old++
			}
		}
	}
	switch {
	case st.UpdatedReplicas+completed < want:
		return fmt.Sprintf("Waiting for rollout to finish: %d out of %d new replicas have been updated...", st.UpdatedReplicas+completed, want), false, nil
	case old > 0:
		return fmt.Sprintf("Waiting for rollout to finish: %d old replicas are pending termination...", old), false, nil
	case st.UpdatedReplicas > want:
		return fmt.Sprintf("Waiting for rollout to finish: %d extra replicas are pending termination...", st.UpdatedReplicas-want), false, nil
	case st.AvailableReplicas < st.UpdatedReplicas:
		return fmt.Sprintf("Waiting for rollout to finish: %d of %d updated replicas are available...", st.AvailableReplicas, st.UpdatedReplicas), false, nil
	}
	return fmt.Sprintf("app %q successfully rolled out", name), true, nil
}

func findCondition(st *v1alpha1.AppStatus, typ string) *v1alpha1.Condition {
	for i := range st.Conditions {
		if st.Conditions[i].Type == typ {
			return &st.Conditions[i]
		}
	}
	return nil
}
