package reconciler

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"proclet.dev/proclet/apis/v1alpha1"
	"proclet.dev/proclet/runtime/runtimetest"
)

// editSnapshot is one random step of what the watcher sends: most apps
// the same values as in the last snapshot (the same bytes: the watcher
// hands the decoded apps again), some changed (a new command, a port or
// a socket that may clash with another app's, a dependsOn that may close
// a cycle, moved to another file, a content problem), removed or added,
// and files broken and fixed. Sorted by name, as the watcher sends it.
func editSnapshot(rng *rand.Rand, last v1alpha1.Snapshot, step int) v1alpha1.Snapshot {
	names := []string{"api", "auth", "cache", "cron", "db", "mail", "old", "queue", "web", "worker"}
	paths := []string{"a.yaml", "b.yaml", "c.yaml", "d.yaml"}
	by := map[string]v1alpha1.SourcedApp{}
	for _, sa := range last.Apps {
		by[sa.App.Metadata.Name] = sa
	}
	for range 1 + rng.IntN(3) {
		name := names[rng.IntN(len(names))]
		if _, ok := by[name]; ok && rng.IntN(4) == 0 {
			delete(by, name)
			continue
		}
		a := testApp(int32(1 + rng.IntN(2)))
		a.Metadata.Name = name
		a.Spec.Command = []string{"/bin/app", fmt.Sprint(rng.IntN(3))}
		switch rng.IntN(6) {
		case 0:
			a.Spec.Ports = []v1alpha1.PortSpec{{Name: "http", Port: int32(8000 + rng.IntN(3))}}
		case 1:
			a.Spec.Sockets = []v1alpha1.SocketSpec{{Name: "http", Port: int32(8000 + rng.IntN(3)), Host: "127.0.0.1"}}
		case 2:
			a.Spec.DependsOn = []v1alpha1.Dependency{{App: names[rng.IntN(len(names))]}}
		}
		v1alpha1.Default(a)
		sa := v1alpha1.SourcedApp{App: *a, Path: paths[rng.IntN(len(paths))], Dir: "/srv"}
		if rng.IntN(6) == 0 {
			sa.ContentError = &v1alpha1.FileError{File: sa.Path, Field: "spec.envFrom[0].file", Reason: v1alpha1.ReasonContentUnavailable, Message: "gone"}
		}
		by[name] = sa
	}
	var snap v1alpha1.Snapshot
	for _, name := range slices.Sorted(maps.Keys(by)) {
		snap.Apps = append(snap.Apps, by[name])
	}
	broken := map[string]*v1alpha1.FileError{}
	for _, f := range last.Files {
		if f.Error != nil {
			broken[f.Path] = f.Error
		}
	}
	if rng.IntN(3) == 0 {
		p := paths[rng.IntN(len(paths))]
		if broken[p] != nil {
			delete(broken, p)
		} else {
			broken[p] = &v1alpha1.FileError{File: p, Line: 3, Reason: v1alpha1.ReasonInvalid, Message: fmt.Sprint("boom at step ", step)}
		}
	}
	for _, p := range paths {
		f := v1alpha1.FileStatus{Path: p, Objects: []string{}, Error: broken[p]}
		for _, sa := range snap.Apps {
			if sa.Path == p {
				f.Objects = append(f.Objects, sa.App.Metadata.Name)
			}
		}
		snap.Files = append(snap.Files, f)
	}
	return snap
}

// desiredOf is what apply decided, in a form to compare: every app's
// desired part, the files, the dependents index, the events and the
// queue.
func desiredOf(r *Reconciler) string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	var b strings.Builder
	for _, name := range slices.Sorted(maps.Keys(r.apps)) {
		d := r.apps[name].desiredApp
		d.seen = 0
		fmt.Fprintf(&b, "%s: rev %s gen %d created %v path %s held %v fileErr %v\n", name, d.revision, d.generation, d.created, d.path, d.held, d.fileErr)
		if d.desired != nil {
			fmt.Fprintf(&b, "  desired %+v\n", *d.desired)
		}
		r.status.mu.RLock()
		sh := r.status.apps[name]
		fmt.Fprintf(&b, "  readers see it: %v\n", sh != nil && sh.desired == d.desired)
		r.status.mu.RUnlock()
	}
	r.metrics.mu.Lock()
	fmt.Fprintf(&b, "exit counters of %v\n", r.metrics.apps)
	for name, st := range r.apps {
		if _, ok := r.metrics.exits[name]; st.desired != nil && !ok {
			fmt.Fprintf(&b, "NO exit counters for the desired app %s\n", name)
		}
	}
	r.metrics.mu.Unlock()
	fmt.Fprintf(&b, "files %+v\nfile errors %v\n", r.desired.files, r.desired.fileErrs)
	for _, name := range slices.Sorted(maps.Keys(r.desired.dependentsOf)) {
		fmt.Fprintf(&b, "dependents of %s: %v\n", name, slices.Sorted(slices.Values(r.desired.dependentsOf[name])))
	}
	for _, e := range r.Events("", 10000) {
		fmt.Fprintf(&b, "event %+v\n", e)
	}
	r.q.mu.Lock()
	fmt.Fprintf(&b, "queued %v\n", slices.Sorted(maps.Keys(r.q.dirty)))
	r.q.mu.Unlock()
	return b.String()
}

// Applying only the apps that differ from the last snapshot decides what
// applying every app decides: over random sequences of snapshots (apps
// changed, moved, removed and back; ports and sockets that clash and stop
// clashing, dependsOn cycles that close and open, files broken and fixed,
// content problems, an app remembered from the last daemon whose file
// breaks), the desired state, the events and the queue are those of a
// reconciler that applies every snapshot whole.
func TestApply_IncrementalIsTheFullApply(t *testing.T) {
	now := time.Date(2026, 12, 8, 3, 0, 0, 0, time.UTC)
	skipped := 0
	for seed := range uint64(120) {
		rng := rand.New(rand.NewPCG(seed, 11))
		opts := func() Options {
			return Options{Runtime: runtimetest.New(), Now: func() time.Time { return now }, Registerer: prometheus.NewRegistry()}
		}
		inc, full := New(opts()), New(opts())
		for _, r := range []*Reconciler{inc, full} { // remembered from the last daemon
			r.apps["old"] = &appState{desiredApp: desiredApp{revision: "r0", generation: 3, path: "a.yaml"}}
		}
		var snap v1alpha1.Snapshot
		for step := range 25 {
			snap = editSnapshot(rng, snap, step)
			if step > 0 {
				all := make([]int, len(snap.Apps))
				for i := range all {
					all[i] = i
				}
				inc.mu.RLock()
				skipped += len(snap.Apps) - len(inc.desired.replaced.changed(snap.Apps, all, nil))
				inc.mu.RUnlock()
			}
			inc.Replace(snap)
			full.mu.Lock()
			full.desired.replaced.applied = false // apply every app
			full.mu.Unlock()
			full.Replace(snap)
			got, want := desiredOf(inc), desiredOf(full)
			if got != want || strings.Contains(got, "readers see it: false") || strings.Contains(got, "NO exit counters") {
				t.Fatalf("seed %d step %d: incremental apply\n%s\nwant\n%s", seed, step, got, want)
			}
		}
	}
	if skipped < 120*25 {
		t.Fatalf("only %d apps were the same as in the last snapshot: the sequences do not test the skip", skipped)
	}
}
