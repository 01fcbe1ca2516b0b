package main

import (
	"context"
	"log/slog"
	"math"
	"time"

	"proclet.dev/proclet/apis/v1alpha1"
)

// instanceStopper is the side of the reconciler the shutdown policy uses:
// the apps (for their grace periods) and the graceful stop of everything.
type instanceStopper interface {
	Apps() []v1alpha1.App
	Shutdown(ctx context.Context) error
}

// detacher is the side of the runtime the shutdown policy uses: letting go
// of the instances, so that its end does not stop them.
type detacher interface {
	Detach()
}

// shutdownPolicy is what a stopping daemon does with the instances, once
// every component but the runtime has stopped (nothing restarts them any
// more). With --on-exit keep, the runtime lets go of them and they keep
// running, for the next daemon to adopt. Else the reconciler stops each
// one gracefully within stopWait (--shutdown-timeout; 0: the longest grace
// period plus shutdownSlack), and whatever still runs then is left
// running, logged, rather than waited for without end.
func shutdownPolicy(onExit string, stopWait time.Duration, rec instanceStopper, rt detacher, log *slog.Logger) {
	if onExit == "keep" {
		rt.Detach()
		log.Info("leaving the instances running (--on-exit keep)")
		return
	}
	if stopWait == 0 {
		stopWait = shutdownWait(maxGrace(rec))
	}
	ctx, cancel := context.WithTimeout(context.Background(), stopWait)
	defer cancel()
	if err := rec.Shutdown(ctx); err != nil {
		log.Error("instances left running", "err", err)
	}
	rt.Detach()
	log.Info("every instance stopped")
}

// maxGrace is the longest grace period of the apps (at least the default
// 30 s), the time a graceful stop of everything may take.
func maxGrace(rec instanceStopper) time.Duration {
	longest := 30 * time.Second
	for _, a := range rec.Apps() {
		longest = max(longest, a.Spec.GracePeriod())
	}
	return longest
}

// shutdownSlack is what a graceful stop of everything gets beyond the
// longest grace period: the preStop hooks' and the reaping's margin.
const shutdownSlack = 10 * time.Second

// shutdownWait is the default --shutdown-timeout: grace plus
// shutdownSlack, saturating rather than wrapping to a negative wait that
// would leave every instance running.
func shutdownWait(grace time.Duration) time.Duration {
	if grace > math.MaxInt64-shutdownSlack {
		return math.MaxInt64
	}
	return max(grace, 0) + shutdownSlack
}
