package reconciler

import (
	"slices"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"proclet.dev/proclet/runtime"
)

// initialExitReasons are the exit reasons every app's
// proclet_instance_exits_total starts with at 0, so that the first crash
// is an increase PromQL can see (a series born at 1 has no increase).
// Other reasons (Stopped, LivenessProbeFailed...) appear when they happen.
var initialExitReasons = []string{"Error", "Completed"}

// metrics are the loop metrics the reconciler owns (docs/metrics.md). A nil
// *metrics, for a nil Registerer, records nothing: every method is a no-op.
// Per-app and per-instance state is not here: the server exports it at
// scrape time from Apps and Instances. So are the exit counts, kept here
// and read through ExitCounts: proclet_instance_exits_total has a series
// per app and reason (two thousand at a thousand apps), which a registry
// would check and sort one by one at every scrape.
type metrics struct {
	reconcileDuration prometheus.Histogram
	reconcileErrors   prometheus.Counter
	manifestErrors    prometheus.Gauge
	lastChange        prometheus.Gauge

	// mu guards exits (app -> exit reason -> exits) and apps, the keys
	// of exits sorted (ExitCounts goes in order).
	mu    sync.Mutex
	exits map[string]map[string]uint64
	apps  []string
}

// newMetrics creates the loop metrics and registers them on reg; nil
// registers nothing and returns nil, whose methods do nothing.
func newMetrics(reg prometheus.Registerer) *metrics {
	if reg == nil {
		return nil
	}
	m := &metrics{
		reconcileDuration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "proclet_reconcile_duration_seconds",
			Help:    "How long one reconcile pass of one app took, from reading its state to writing its status.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
		}),
		reconcileErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "proclet_reconcile_errors_total",
			Help: "Reconcile passes that panicked, and starts and stops the runtime refused.",
		}),
		manifestErrors: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "proclet_manifest_errors",
			Help: "Manifest files failing to parse or validate now.",
		}),
		lastChange: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "proclet_manifest_last_change_timestamp_seconds",
			Help: "When a snapshot of the manifests last changed the desired state, in Unix seconds (0: never).",
		}),
	}
	m.exits = map[string]map[string]uint64{}
	reg.MustRegister(m.reconcileDuration, m.reconcileErrors, m.manifestErrors, m.lastChange)
	return m
}

// observeReconcile records one pass of took, and an error when it failed.
func (m *metrics) observeReconcile(took time.Duration, failed bool) {
	if m == nil {
		return
	}
	m.reconcileDuration.Observe(took.Seconds())
	if failed {
		m.reconcileErrors.Inc()
	}
}

// executorError counts a start or stop the runtime refused.
func (m *metrics) executorError() {
	if m != nil {
		m.reconcileErrors.Inc()
	}
}

// appSeen makes app's exit counters exist at 0 (idempotent).
func (m *metrics) appSeen(app string) {
	if m == nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.appSeenLocked(app)
}

func (m *metrics) appSeenLocked(app string) map[string]uint64 {
	byReason := m.exits[app]
	if byReason == nil {
		byReason = make(map[string]uint64, len(initialExitReasons))
		for _, reason := range initialExitReasons {
			byReason[reason] = 0
		}
		m.exits[app] = byReason
		i, _ := slices.BinarySearch(m.apps, app)
		m.apps = slices.Insert(m.apps, i, app)
	}
	return byReason
}

// exited counts an exit of one of app's instances.
func (m *metrics) exited(app, reason string) {
	if m == nil {
		return
	}
	if reason == "" {
		reason = "Unknown"
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.appSeenLocked(app)[reason]++
}

// forget deletes the series of an app that is gone.
func (m *metrics) forget(app string) {
	if m == nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.exits[app]; ok {
		delete(m.exits, app)
		i, _ := slices.BinarySearch(m.apps, app)
		m.apps = slices.Delete(m.apps, i, i+1)
	}
}

// ExitCounts calls fn with the exits the reconciler absorbed, for every
// app and exit reason (proclet_instance_exits_total: server.ExitCountsReader),
// sorted by app and reason. Every known app has its Completed and Error
// counts, 0 until it exits so; an app that is gone has none. Without a
// Registerer nothing is counted. fn runs under a lock: it must be quick,
// and must not call the reconciler.
func (r *Reconciler) ExitCounts(fn func(app, reason string, exits uint64)) {
	m := r.metrics
	if m == nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	var reasons []string
	for _, app := range m.apps {
		reasons = reasons[:0]
		for reason := range m.exits[app] {
			reasons = append(reasons, reason)
		}
		slices.Sort(reasons)
		for _, reason := range reasons {
			fn(app, reason, m.exits[app][reason])
		}
	}
}

// manifests records a snapshot: how many files fail now, and when a
// snapshot last changed the desired state (zero: never).
func (m *metrics) manifests(failing int, lastChange time.Time) {
	if m == nil {
		return
	}
	m.manifestErrors.Set(float64(failing))
	if !lastChange.IsZero() {
		m.lastChange.Set(float64(lastChange.UnixNano()) / 1e9)
	}
}

// recordManifests updates the manifest gauges after a snapshot, and makes
// the exit counters of every desired app exist: of all, or of the named
// ones (a snapshot's changed apps: the others already have theirs).
func (r *Reconciler) recordManifests(all bool, names []string) {
	if r.metrics == nil {
		return
	}
	r.mu.RLock()
	failing := 0
	for _, f := range r.desired.files {
		if f.Error != nil {
			failing++
		}
	}
	last := r.desired.lastChange
	apps := make([]string, 0, len(r.apps))
	seen := func(name string, st *appState) {
		if st != nil && st.desired != nil && st.desired.App.IsApp() { // a Job's exits are its runs'
			apps = append(apps, name)
		}
	}
	if all {
		for name, st := range r.apps {
			seen(name, st)
		}
	}
	for _, name := range names {
		seen(name, r.apps[name])
	}
	r.mu.RUnlock()
	r.metrics.manifests(failing, last)
	for _, name := range apps {
		r.metrics.appSeen(name)
	}
}

// countExit counts the exit of uid, an exited instance of app the plan
// absorbs (releases).
func (r *Reconciler) countExit(app string, observed []runtime.State, uid string) {
	if r.metrics == nil {
		return
	}
	for _, o := range observed {
		if o.UID == uid && o.Exit != nil {
			r.metrics.exited(app, o.Exit.Reason)
			return
		}
	}
}
