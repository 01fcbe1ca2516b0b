package server

import (
	"context"
	"slices"
	"time"

	"proclet.dev/proclet/apis/v1alpha1"
	"proclet.dev/proclet/runtime/logfile"
)

// DefaultLogRetention is how long the log files of an instance that is
// gone (its app removed, scaled down, replaced by a rollout) are kept
// after their last write, unless --log-retention says otherwise.
const DefaultLogRetention = 7 * 24 * time.Hour

// LogSweep deletes the log files of gone instances once they are older
// than Retention.
type LogSweep struct {
	StateDir  string
	Retention time.Duration // > 0
}

// every is how often the sweep runs: a tenth of the retention, between a
// second and an hour. The first sweep waits that long too, so that the
// instances a restarted daemon adopts are known before it looks.
func (l *LogSweep) every() time.Duration {
	return min(max(l.Retention/10, time.Second), time.Hour)
}

// sweepLogs runs the sweep until ctx ends. An instance is gone when the
// state has no instance of that name in that app; each sweep looks at
// logfile.SweepBudget files at most and the next goes on from there.
func (s *Server) sweepLogs(ctx context.Context) {
	t := time.NewTicker(s.sweep.every())
	defer t.Stop()
	live := func(app, inst string) bool {
		insts, ok := s.status.Instances(app)
		return ok && slices.ContainsFunc(insts, func(i v1alpha1.Instance) bool { return i.Name == inst })
	}
	after := ""
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			var removed int
			after, removed = logfile.Sweep(s.sweep.StateDir, now.Add(-s.sweep.Retention), live, after, logfile.SweepBudget)
			if removed > 0 {
				s.log.Info("deleted the log files of gone instances past the retention", "files", removed,
					"retention", s.sweep.Retention.String())
			}
		}
	}
}
