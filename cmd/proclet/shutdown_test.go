package main

import (
	"bytes"
	"context"
	"log/slog"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"proclet.dev/proclet/apis/v1alpha1"
)

// TestShutdownWaitSaturates: the default shutdown wait is the longest
// grace plus the slack for any grace, never a wrapped negative wait (which
// ended the graceful stop at once and left every instance running).
func TestShutdownWaitSaturates(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	graces := []time.Duration{0, time.Second, 30 * time.Second, math.MaxInt64 - shutdownSlack,
		math.MaxInt64 - shutdownSlack + 1, math.MaxInt64 - 1, math.MaxInt64}
	for range 1000 {
		graces = append(graces, time.Duration(r.Int64N(math.MaxInt64)))
	}
	for _, g := range graces {
		w := shutdownWait(g)
		switch {
		case w < g:
			t.Fatalf("shutdownWait(%d) = %d: shorter than the grace", g, w)
		case g <= math.MaxInt64-shutdownSlack && w != g+shutdownSlack:
			t.Fatalf("shutdownWait(%v) = %v, want grace + %v", g, w, shutdownSlack)
		}
	}
}

// stopperFake is the reconciler's side of the shutdown policy; it records
// the calls, in order, in calls (shared with detacherFake).
type stopperFake struct {
	apps     []v1alpha1.App
	err      error
	calls    *[]string
	deadline time.Time
}

func (s *stopperFake) Apps() []v1alpha1.App { return s.apps }

func (s *stopperFake) Shutdown(ctx context.Context) error {
	*s.calls = append(*s.calls, "Shutdown")
	s.deadline, _ = ctx.Deadline()
	return s.err
}

type detacherFake struct{ calls *[]string }

func (d detacherFake) Detach() { *d.calls = append(*d.calls, "Detach") }

// TestShutdownPolicy: --on-exit keep only lets go of the instances; stop
// stops them all within --shutdown-timeout, by default the longest grace
// period plus the slack, then lets go of what is left, even when the stop
// ran out of time (which is logged).
func TestShutdownPolicy(t *testing.T) {
	grace := int64(90)
	apps := []v1alpha1.App{{}, {Spec: v1alpha1.AppSpec{TerminationGracePeriodSeconds: &grace}}}
	tests := []struct {
		name      string
		onExit    string
		stopWait  time.Duration
		err       error
		wantCalls []string
		wantWait  time.Duration // the Shutdown's deadline from now; 0: none
		wantLog   string
	}{
		{"keep", "keep", 0, nil, []string{"Detach"}, 0, "leaving the instances running"},
		{"stop within the default", "stop", 0, nil, []string{"Shutdown", "Detach"}, 90*time.Second + shutdownSlack,
			"every instance stopped"},
		{"stop within --shutdown-timeout", "stop", 5 * time.Second, nil, []string{"Shutdown", "Detach"}, 5 * time.Second,
			"every instance stopped"},
		{"stop runs out of time", "stop", time.Second, context.DeadlineExceeded, []string{"Shutdown", "Detach"}, time.Second,
			"instances left running"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var calls []string
			var logs bytes.Buffer
			rec := &stopperFake{apps: apps, err: tt.err, calls: &calls}
			before := time.Now()
			shutdownPolicy(tt.onExit, tt.stopWait, rec, detacherFake{&calls}, slog.New(slog.NewTextHandler(&logs, nil)))
			after := time.Now()
			if !slices.Equal(calls, tt.wantCalls) {
				t.Errorf("calls %v, want %v", calls, tt.wantCalls)
			}
			if tt.wantWait != 0 && (rec.deadline.Before(before.Add(tt.wantWait)) || rec.deadline.After(after.Add(tt.wantWait))) {
				t.Errorf("Shutdown's deadline %v after the call, want %v", rec.deadline.Sub(before), tt.wantWait)
			}
			if !strings.Contains(logs.String(), tt.wantLog) {
				t.Errorf("log %q, want %q", logs.String(), tt.wantLog)
			}
		})
	}
}
