package reconciler

import (
	"context"
	"fmt"
	"reflect"
	"testing"
	"testing/synctest"
	"time"

	"proclet.dev/proclet/apis/v1alpha1"
	"proclet.dev/proclet/runtime"
	"proclet.dev/proclet/runtime/runtimetest"
)

// runningApps starts a reconciler of n one-instance apps, every instance running, on
// the fake runtime.
func runningApps(b *testing.B, n int) *Reconciler {
	b.Helper()
	r := New(Options{Runtime: runtimetest.New(), Workers: 2})
	ctx, cancel := context.WithCancel(b.Context())
	done := make(chan struct{})
	go func() { _ = r.Run(ctx); close(done) }()
	b.Cleanup(func() { cancel(); <-done })
	snap := v1alpha1.Snapshot{}
	for i := range n {
		a := named(fmt.Sprintf("app-%04d", i), 1)
		v1alpha1.Default(a)
		snap.Apps = append(snap.Apps, v1alpha1.SourcedApp{App: *a, Path: a.Metadata.Name + ".yaml", Dir: "/srv"})
	}
	r.Replace(snap)
	deadline := time.Now().Add(30 * time.Second)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		insts, _ := r.Instances("")
		running := 0
		for _, i := range insts {
			if i.Phase == v1alpha1.PhaseRunning {
				running++
			}
		}
		if running == n {
			return r
		}
		if time.Now().After(deadline) {
			b.Fatalf("%d of %d running", running, n)
		}
		<-tick.C
	}
}

// sharedEqual fails unless the shared views are the copying ones.
func sharedEqual(t *testing.T, r *Reconciler, apps ...string) {
	t.Helper()
	shared := []v1alpha1.App{}
	for _, a := range r.SharedApps() {
		shared = append(shared, *a)
	}
	if copied := r.Apps(); !reflect.DeepEqual(shared, copied) {
		t.Fatalf("SharedApps\n%+v\nApps\n%+v", shared, copied)
	}
	for _, app := range append(apps, "", "nope") {
		shared, sok := r.SharedInstances(app)
		copied, cok := r.Instances(app)
		if sok != cok || !reflect.DeepEqual(shared, copied) {
			t.Fatalf("SharedInstances(%q)\n%+v %v\nInstances\n%+v %v", app, shared, sok, copied, cok)
		}
	}
}

// TestSharedViews_FollowEveryChange reads the shared views after each kind
// of change (snapshot, pass, usage refresh, exit, removal): they are
// always what the copying readers return, never an earlier state, and
// setting fields of what they return changes nothing in the reconciler.
func TestSharedViews_FollowEveryChange(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rt := &sampledRT{Fake: runtimetest.New()}
		r := New(Options{Runtime: rt, Workers: 2})
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan struct{})
		go func() { _ = r.Run(ctx); close(done) }()
		defer func() { cancel(); <-done }()
		h := &harness{t: t, rt: rt.Fake, r: r}

		sharedEqual(t, r)
		h.apply(named("web", 2), named("db", 1))
		sharedEqual(t, r, "web", "db")

		web0 := h.instance("web", "web-0")
		rt.setUsage(web0.UID, runtime.Usage{SampledAt: time.Now(), CPUSeconds: 2, MemoryBytes: 4096, Listening: []int32{80}})
		r.RefreshUsage()
		shared, _ := r.SharedInstances("web")
		if shared[0].MemoryBytes != 4096 || shared[0].Listening[0] != 80 {
			t.Fatalf("shared instance after a usage refresh: %+v", shared[0])
		}
		sharedEqual(t, r, "web", "db")

		shared[0].Phase, shared[0].Listening = v1alpha1.PhaseFailed, nil
		if got := h.instance("web", "web-0"); got.Phase != v1alpha1.PhaseRunning || len(got.Listening) != 1 {
			t.Fatalf("setting a field of a shared instance changed the reconciler's: %+v", got)
		}
		sharedEqual(t, r, "web", "db")

		h.rt.ExitInstance("db-0", 3)
		synctest.Wait()
		sharedEqual(t, r, "web", "db")

		edited := named("web", 3)
		h.apply(edited) // db removed, web scaled up
		sharedEqual(t, r, "web", "db")
		if apps := r.SharedApps(); len(apps) != 1 || apps[0].Metadata.Name != "web" {
			t.Fatalf("shared apps after db was removed: %d", len(apps))
		}
		if insts, _ := r.SharedInstances("web"); len(insts) != 3 {
			t.Fatalf("shared web instances after a scale up: %d", len(insts))
		}
	})
}

// BenchmarkViews1000 reads 1000 apps' state the ways the server does.
func BenchmarkViews1000(b *testing.B) {
	r := runningApps(b, 1000)
	b.Run("Apps", func(b *testing.B) {
		for b.Loop() {
			_ = r.Apps()
		}
	})
	b.Run("Instances", func(b *testing.B) {
		for b.Loop() {
			_, _ = r.Instances("")
		}
	})
	b.Run("SharedApps", func(b *testing.B) {
		for b.Loop() {
			_ = r.SharedApps()
		}
	})
	b.Run("SharedInstances", func(b *testing.B) {
		for b.Loop() {
			_, _ = r.SharedInstances("")
		}
	})
}

// TestReaders_DoNotWaitForTheLoop holds the loop's lock (r.mu, what a
// Replace of a thousand apps or a pass's planning hold) and reads every
// view: the status store has its own lock, so each read returns, and
// shows the app.
func TestReaders_DoNotWaitForTheLoop(t *testing.T) {
	r := New(Options{Runtime: runtimetest.New()})
	a := named("web", 1)
	v1alpha1.Default(a)
	r.Replace(v1alpha1.Snapshot{Apps: []v1alpha1.SourcedApp{{App: *a, Path: "web.yaml"}}})
	r.mu.Lock()
	defer r.mu.Unlock()
	done := make(chan []string, 1)
	go func() {
		var got []string
		for _, v := range r.Apps() {
			got = append(got, "Apps:"+v.Metadata.Name)
		}
		for _, v := range r.SharedApps() {
			got = append(got, "SharedApps:"+v.Metadata.Name)
		}
		if v, ok := r.App("web"); ok {
			got = append(got, "App:"+v.Metadata.Name)
		}
		if _, ok := r.Instances("web"); ok {
			got = append(got, "Instances:web")
		}
		if _, ok := r.SharedInstances("web"); ok {
			got = append(got, "SharedInstances:web")
		}
		events, cancel := r.Watch(0)
		got = append(got, fmt.Sprintf("Watch:%s", (<-events).Kind))
		cancel()
		done <- got
	}()
	want := []string{"Apps:web", "SharedApps:web", "App:web", "Instances:web", "SharedInstances:web", "Watch:App"}
	select {
	case got := <-done:
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("read %v, want %v", got, want)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a reader still waits for r.mu after 10 s")
	}
}

// TestReconciler_WarnAndSourceRevision: a warning of the daemon itself is
// an event of no app; the source revision is the last snapshot's.
func TestReconciler_WarnAndSourceRevision(t *testing.T) {
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	r := New(Options{Runtime: runtimetest.New(), Now: func() time.Time { return t0 }})
	r.Warn("/etc/proclet/tls.crt", "TLSCertificateNotLoaded", "bad pair")
	want := []Event{{Time: t0, Type: "Warning", Reason: "TLSCertificateNotLoaded", Object: "/etc/proclet/tls.crt", Message: "bad pair"}}
	if got := r.Events("", 0); !reflect.DeepEqual(got, want) {
		t.Errorf("events %+v, want %+v", got, want)
	}
	if got := r.Events("web", 0); len(got) != 0 {
		t.Errorf("events of app web: %+v", got)
	}
	r.Replace(v1alpha1.Snapshot{SourceRevision: "abc1234"})
	if got := r.SourceRevision(); got != "abc1234" {
		t.Errorf("SourceRevision %q", got)
	}
}
