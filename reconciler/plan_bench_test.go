package reconciler

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"proclet.dev/proclet/apis/v1alpha1"
	"proclet.dev/proclet/runtime"
	"proclet.dev/proclet/runtime/runtimetest"
)

// benchApps returns n defaulted apps named app-0 … app-(n-1), one replica
// each, with the commands the bench harness runs.
func benchApps(n int) []*v1alpha1.App {
	apps := make([]*v1alpha1.App, n)
	for i := range apps {
		a := testApp(1)
		a.Metadata.Name = fmt.Sprintf("app-%d", i)
		a.Spec.Command = []string{"/srv/bin/workload", "--mark-start", "/tmp/marks", a.Metadata.Name}
		v1alpha1.Default(a)
		apps[i] = a
	}
	return apps
}

// BenchmarkPlan1000Apps plans every app of a 1000-app snapshot once, as
// the workers do after a snapshot that touched them all: "steady" with each
// app's instance running at the desired revision (nothing to do), "cold"
// with nothing running yet (one start each). Per op is all 1000 plans.
func BenchmarkPlan1000Apps(b *testing.B) {
	for _, running := range []bool{true, false} {
		name := "cold"
		if running {
			name = "steady"
		}
		b.Run(name, func(b *testing.B) {
			apps := benchApps(1000)
			ins := make([]input, len(apps))
			for i, a := range apps {
				rev := v1alpha1.Revision(&a.Spec)
				in := input{app: a, revision: rev, replicas: 1, synced: true, now: t0}
				if running {
					s := run(0, rev, t0.Add(-time.Hour))
					s.App, s.Instance = a.Metadata.Name, a.Metadata.Name+"-0"
					in.observed, in.slots = []runtime.State{s}, slotsFor(s)
				}
				ins[i] = in
			}
			b.ReportAllocs()
			for b.Loop() {
				for _, in := range ins {
					out := plan(in)
					if running == (len(out.actions) > 0) {
						b.Fatalf("%s: unexpected actions %v", in.app.Metadata.Name, summary(out))
					}
				}
			}
		})
	}
}

// BenchmarkReplace1000 hands the reconciler a 1000-app snapshot, as the
// watchers do on every scan (each edit and each resync): "first" into an
// empty reconciler, "unchanged" the same snapshot again (the resync case,
// which must enqueue nothing), "unchanged-copy" equal snapshots in new
// slices, "one-changed" alternating two snapshots that differ in one
// app's command.
func BenchmarkReplace1000(b *testing.B) {
	snapshot := func(apps []*v1alpha1.App) v1alpha1.Snapshot {
		var snap v1alpha1.Snapshot
		for _, a := range apps {
			path := a.Metadata.Name + ".yaml"
			snap.Apps = append(snap.Apps, v1alpha1.SourcedApp{App: *a, Path: path, Dir: "/srv/manifests"})
			snap.Files = append(snap.Files, v1alpha1.FileStatus{Path: path, Objects: []string{a.Metadata.Name}})
		}
		return snap
	}
	newReconciler := func() *Reconciler {
		return New(Options{Runtime: runtimetest.New(), Registerer: prometheus.NewRegistry()})
	}
	snap := snapshot(benchApps(1000))

	b.Run("first", func(b *testing.B) {
		b.ReportAllocs()
		for range b.N {
			b.StopTimer()
			r := newReconciler()
			b.StartTimer()
			r.Replace(snap)
		}
	})
	b.Run("unchanged", func(b *testing.B) {
		r := newReconciler()
		r.Replace(snap)
		b.ReportAllocs()
		for b.Loop() {
			r.Replace(snap)
		}
	})
	b.Run("unchanged-copy", func(b *testing.B) {
		// The same apps in new slices: compared app by app (an event
		// scan that read nothing new; a resync re-sends the same slices).
		r := newReconciler()
		r.Replace(snap)
		copies := []v1alpha1.Snapshot{snap, snap}
		for i := range copies {
			copies[i].Apps, copies[i].Files = slices.Clone(snap.Apps), slices.Clone(snap.Files)
		}
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			i++
			r.Replace(copies[i%2])
		}
	})
	b.Run("one-changed", func(b *testing.B) {
		// As the watcher sends it: the apps of the unchanged files are
		// the ones it decoded before (same slices and maps), one is new.
		changed := snap
		changed.Apps = slices.Clone(snap.Apps)
		one := benchApps(1000)[500]
		one.Spec.Command = append(one.Spec.Command, "--changed")
		changed.Apps[500].App = *one
		snaps := []v1alpha1.Snapshot{snap, changed}
		r := newReconciler()
		r.Replace(snap)
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			i++
			r.Replace(snaps[i%2])
		}
	})
}

// BenchmarkReplaceOneChangedBeside5000 is the reconciler's share of a
// manifest write beside 5000 apps in 5 files of 1000: a snapshot with a
// new one-app file, then one without it, alternately, each a new slice
// holding the other 5000 apps as the watcher sends them (the same
// decoded values). Per op is one Replace.
func BenchmarkReplaceOneChangedBeside5000(b *testing.B) {
	var base v1alpha1.Snapshot
	for f := range 5 {
		path := fmt.Sprintf("bench-%d.yaml", f)
		st := v1alpha1.FileStatus{Path: path, Objects: []string{}}
		for _, a := range benchApps(5000)[f*1000 : (f+1)*1000] {
			base.Apps = append(base.Apps, v1alpha1.SourcedApp{App: *a, Path: path, Dir: "/srv/manifests"})
			st.Objects = append(st.Objects, a.Metadata.Name)
		}
		base.Files = append(base.Files, st)
	}
	slices.SortFunc(base.Apps, func(a, b v1alpha1.SourcedApp) int { return strings.Compare(a.App.Metadata.Name, b.App.Metadata.Name) })
	lat := benchApps(1)[0]
	lat.Metadata.Name = "lat"
	with := func() v1alpha1.Snapshot {
		s := base
		s.Apps = append(slices.Clone(base.Apps), v1alpha1.SourcedApp{App: *lat, Path: "lat.yaml", Dir: "/srv/manifests"})
		slices.SortFunc(s.Apps, func(a, b v1alpha1.SourcedApp) int { return strings.Compare(a.App.Metadata.Name, b.App.Metadata.Name) })
		s.Files = append(slices.Clone(base.Files), v1alpha1.FileStatus{Path: "lat.yaml", Objects: []string{"lat"}})
		return s
	}
	without := func() v1alpha1.Snapshot {
		s := base
		s.Apps, s.Files = slices.Clone(base.Apps), slices.Clone(base.Files)
		return s
	}
	r := New(Options{Runtime: runtimetest.New(), Registerer: prometheus.NewRegistry()})
	r.Replace(base)
	snaps := make([]v1alpha1.Snapshot, 64)
	for i := range snaps {
		if i%2 == 0 {
			snaps[i] = with()
		} else {
			snaps[i] = without()
		}
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		r.Replace(snaps[i%len(snaps)])
		i++
	}
}
