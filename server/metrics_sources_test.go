package server

import (
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

// exitsOnly and probesOnly are sources with nothing but their one method.
type (
	exitsOnly  struct{ ExitCountsReader }
	probesOnly struct{ ProbeStatsReader }
	stateOnly  struct{ SharedReader }
)

// Each family comes from the source its field names, not from whatever
// else the state happens to implement: a state without ExitCounts (what a
// rename in the reconciler would make of it) still gets its exits from
// Exits, and its probe stats from Probes.
func TestCollector_EachSeriesFromItsSource(t *testing.T) {
	state := &metricsFake{}
	state.set(fixture())
	clear(state.exits) // counts the collector must not see
	counts := &metricsFake{exits: map[[2]string]uint64{{"web", "Error"}: 5}, probe: []ProbeStats{{
		App: "db", Probe: "readiness", Success: 2, Failure: 1, Buckets: make([]uint64, len(ProbeDurationBuckets))}}}
	c := NewCollector(MetricsSources{State: stateOnly{state}, Exits: exitsOnly{counts}, Probes: probesOnly{counts}})
	want := `
# HELP proclet_instance_exits_total Exits of instances the reconciler absorbed, by app and exit reason (Completed, Error, Stopped, ...).
# TYPE proclet_instance_exits_total counter
proclet_instance_exits_total{app="web",reason="Error"} 5
# HELP proclet_probe_results_total Probe runs by app, probe (startup, readiness, liveness) and result (success, failure).
# TYPE proclet_probe_results_total counter
proclet_probe_results_total{app="db",probe="readiness",result="failure"} 1
proclet_probe_results_total{app="db",probe="readiness",result="success"} 2
`
	if err := testutil.CollectAndCompare(c, strings.NewReader(want),
		"proclet_instance_exits_total", "proclet_probe_results_total"); err != nil {
		t.Fatal(err)
	}
	if n := testutil.CollectAndCount(c, "proclet_instance_up"); n != 4 {
		t.Fatalf("%d proclet_instance_up series from the state, want 4", n)
	}
}

// A source left out is a wiring mistake: NewCollector refuses it, naming
// the field, rather than exporting a family that stays empty.
func TestNewCollector_NilSourcePanics(t *testing.T) {
	f := &metricsFake{}
	for field, src := range map[string]MetricsSources{
		"State":  {Exits: f, Probes: f},
		"Exits":  {State: f, Probes: f},
		"Probes": {State: f, Exits: f},
	} {
		func() {
			defer func() {
				if r, _ := recover().(string); !strings.Contains(r, "MetricsSources."+field+" is nil") {
					t.Errorf("without %s: panic %q, want one naming MetricsSources.%s", field, r, field)
				}
			}()
			NewCollector(src)
		}()
	}
}
