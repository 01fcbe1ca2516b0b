package probe

import (
	"strings"
	"testing"
)

func TestProbeCounter(t *testing.T) {
	// runs: one character per probe run, '+' success, '-' failure. want:
	// the transition after each run: '.' none, 'S' to success, 'F' to failure.
	tests := []struct {
		name             string
		success, failure int32
		initial          probeOutcome
		runs, want       string
	}{
		{"readiness defaults: first success", 1, 3, outcomeFailure, "+", "S"},
		{"readiness: failures below threshold keep it ready", 1, 3, outcomeFailure, "+--+--", "S....."},
		{"readiness: third failure in a row", 1, 3, outcomeFailure, "+---", "S..F"},
		{"readiness: failures while not ready change nothing", 1, 3, outcomeFailure, "-----", "....."},
		{"readiness: success threshold 2", 2, 3, outcomeFailure, "++", ".S"},
		{"readiness: flapping never reaches success threshold 2", 2, 3, outcomeFailure, "+-+-+-+-", "........"},
		{"readiness: back after successThreshold", 2, 1, outcomeFailure, "++-+-++", ".SF...S"},
		{"liveness defaults: 3 failures in a row", 1, 3, outcomeSuccess, "--+---", ".....F"},
		{"liveness: successes change nothing", 1, 3, outcomeSuccess, "+++", "..."},
		{"liveness: failure threshold 1", 1, 1, outcomeSuccess, "+-", ".F"},
		{"startup: first success", 1, 3, outcomeUnknown, "--+", "..S"},
		{"startup: failure threshold", 1, 3, outcomeUnknown, "---", "..F"},
		{"a success resets the failure run", 1, 3, outcomeFailure, "+--+---", "S.....F"},
		{"a failure resets the success run", 3, 1, outcomeFailure, "++-+++", ".....S"},
		{"thresholds below 1 count as 1", 0, 0, outcomeFailure, "+-", "SF"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newProbeCounter(tt.success, tt.failure, tt.initial)
			var got strings.Builder
			for _, r := range tt.runs {
				switch c.observe(r == '+') {
				case toSuccess:
					got.WriteByte('S')
				case toFailure:
					got.WriteByte('F')
				default:
					got.WriteByte('.')
				}
			}
			if got.String() != tt.want {
				t.Errorf("runs %s: transitions %s, want %s", tt.runs, got.String(), tt.want)
			}
		})
	}
}
