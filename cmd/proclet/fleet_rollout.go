package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"proclet.dev/proclet/apis/v1alpha1"
	"proclet.dev/proclet/server/client"
)

// maxStalledNamed is how many waiting hosts a progress line names.
const maxStalledNamed = 5

// hostRollout is where one daemon is in the rollout of an app.
type hostRollout struct {
	selected bool // it has the app and the app's nodeSelector matches it
	msg      string
	done     bool
	err      error // the rollout failed there
}

// fleetRolloutStatus is `proclet rollout status APP --servers`: it polls
// every daemon until each that selects APP (has it, not NotScheduled) runs
// its newest revision available, printing a line each time the fleet's
// progress changes. It fails at once when the rollout fails on one host
// (its progress deadline, an invalid manifest), and at --timeout naming
// every host that has not finished, one per line on stderr. A host that
// does not answer has not finished. No host selecting APP is waited for
// (the commit that adds it may not have reached any yet).
func fleetRolloutStatus(ctx context.Context, f *fleet, name string, o statusOptions, stdout, stderr io.Writer) error {
	if o.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, o.timeout)
		defer cancel()
	}
	last := ""
	var prev []hostAnswer[hostRollout] // the last round all of which was asked before the timeout
	timedOut := func() error { return fleetTimedOut(stderr, name, o.timeout, prev) }
	return pollProgress(ctx, o.interval, stdout, &last, timedOut, func(ctx context.Context) (string, bool, error) {
		answers := fanOut(ctx, f, func(ctx context.Context, c *client.Client) (hostRollout, error) {
			return hostRolloutOf(ctx, c, name, o)
		})
		if ctx.Err() != nil {
			if prev == nil {
				prev = answers
			}
			return "", false, ctx.Err()
		}
		prev = answers
		return fleetProgress(name, answers)
	})
}

// hostRolloutOf asks one daemon where app's rollout is.
func hostRolloutOf(ctx context.Context, c *client.Client, name string, o statusOptions) (hostRollout, error) {
	app, err := c.App(ctx, name)
	if client.IsNotFound(err) {
		return hostRollout{}, nil
	}
	if err != nil {
		return hostRollout{}, err
	}
	if notScheduled(app) {
		return hostRollout{}, nil
	}
	if msg, ok := commitProgress(app, o.commit); !ok {
		return hostRollout{selected: true, msg: msg}, nil
	}
	insts, err := c.Instances(ctx, name)
	if err != nil {
		return hostRollout{}, err
	}
	msg, done, perr := rolloutProgress(app, insts, o.revision)
	return hostRollout{selected: true, msg: msg, done: done, err: perr}, nil
}

// notScheduled reports whether the daemon runs no instance of app because
// its nodeSelector does not match the daemon's --node-labels.
func notScheduled(app v1alpha1.App) bool {
	if app.Status == nil {
		return false
	}
	for _, c := range app.Status.Conditions {
		if c.Reason == "NodeSelectorMismatch" || c.Reason == "NotScheduled" ||
			(c.Type == "Scheduled" && c.Status == v1alpha1.ConditionFalse) {
			return true
		}
	}
	return false
}

// commitProgress is whether the daemon has read the manifests of commit
// (its app's status.sourceRevision, the name of the checkout git-sync
// made, starts with it); always when commit is "".
func commitProgress(app v1alpha1.App, commit string) (string, bool) {
	if commit == "" {
		return "", true
	}
	at := ""
	if app.Status != nil {
		at = app.Status.SourceRevision
	}
	if strings.HasPrefix(at, commit) {
		return "", true
	}
	if at == "" {
		at = "no commit"
	}
	return fmt.Sprintf("Waiting for the daemon to read commit %s (it is at %s)...", commit, at), false
}

// fleetProgress is where the fleet is in app's rollout: a progress line,
// whether every host that selects the app finished, or the first host
// where it failed. It is a pure function of the answers.
func fleetProgress(name string, answers []hostAnswer[hostRollout]) (string, bool, error) {
	selected, finished, skipped := 0, 0, 0
	var waiting []string
	for _, a := range answers {
		switch {
		case a.err != nil:
			waiting = append(waiting, fmt.Sprintf("%s (no answer: %v)", a.node, a.err))
		case !a.val.selected:
			skipped++
		case a.val.err != nil:
			return "", false, fmt.Errorf("node %s: %w", a.node, a.val.err)
		case a.val.done:
			selected++
			finished++
		default:
			selected++
			waiting = append(waiting, fmt.Sprintf("%s (%s)", a.node, a.val.msg))
		}
	}
	if selected == 0 && len(waiting) == 0 {
		return fmt.Sprintf("Waiting for a host that selects app %q (none of %d does)...", name, len(answers)), false, nil
	}
	if len(waiting) == 0 {
		return fmt.Sprintf("app %q successfully rolled out on %d hosts (%d do not select it)", name, finished, skipped), true, nil
	}
	named := waiting[:min(len(waiting), maxStalledNamed)]
	more := ""
	if len(waiting) > len(named) {
		more = fmt.Sprintf(" and %d more", len(waiting)-len(named))
	}
	unanswered := len(answers) - selected - skipped
	return fmt.Sprintf("Waiting for app %q on %d of %d hosts: %s%s", name, len(waiting), selected+unanswered,
		strings.Join(named, ", "), more), false, nil
}

// fleetTimedOut names, one per line on stderr, every host that had not
// finished at the timeout, and returns the error of the timeout.
func fleetTimedOut(stderr io.Writer, name string, timeout time.Duration, answers []hostAnswer[hostRollout]) error {
	stalled := 0
	for _, a := range answers {
		why := ""
		switch {
		case a.err != nil:
			if errors.Is(a.err, context.DeadlineExceeded) || errors.Is(a.err, context.Canceled) {
				why = "no answer before the timeout"
			} else {
				why = "no answer: " + a.err.Error()
			}
		case a.val.selected && !a.val.done:
			why = a.val.msg
		default:
			continue
		}
		stalled++
		fmt.Fprintf(stderr, "proclet rollout status: %s: stalled: %s\n", a.node, why)
	}
	return fmt.Errorf("timed out after %s waiting for the rollout of app %q: %d hosts stalled", timeout, name, stalled)
}
