package reconciler

import (
	"bytes"
	"context"
	"encoding/json"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"proclet.dev/proclet/apis/v1alpha1"
	"proclet.dev/proclet/runtime"
	"proclet.dev/proclet/runtime/runtimetest"
)

// The reconciler shares memory three ways to stay fast, each resting on a
// promise that nothing writes what was shared: the shared views
// (SharedApps, SharedInstances) and watch events it hands readers, and the
// snapshots the watcher hands it (Replace keeps the watcher's apps and
// skips a re-sent snapshot by identity). These tests break the promise's
// consumer side: they take what was shared at every step, keep its encoding,
// and after every kind of change require each to still encode the same,
// while readers read them concurrently (so `go test -race` sees a write
// racing with them).

// frozen is something shared and its encoding when it was handed over.
type frozen struct {
	what string
	v    any
	enc  []byte
}

// encoding is v's JSON: every exported field, through every pointer, map
// and slice (none of the types shared has a field JSON skips).
func encoding(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// sharedLog keeps what was shared and reads it in the background.
type sharedLog struct {
	t      *testing.T
	mu     sync.Mutex
	frozen []frozen
}

func (l *sharedLog) keep(what string, v any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.frozen = append(l.frozen, frozen{what: what, v: v, enc: encoding(l.t, v)})
}

// check fails for anything shared that changed since it was kept.
func (l *sharedLog) check(step string) {
	l.t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, f := range l.frozen {
		if now := encoding(l.t, f.v); !bytes.Equal(now, f.enc) {
			l.t.Fatalf("after %s: %s was modified after it was shared:\nwas %s\nnow %s", step, f.what, f.enc, now)
		}
	}
}

// readAll reads everything kept (a reader of the shared memory).
func (l *sharedLog) readAll() {
	l.mu.Lock()
	fs := append([]frozen(nil), l.frozen...)
	l.mu.Unlock()
	for _, f := range fs {
		_, _ = json.Marshal(f.v)
	}
}

func TestSharedMemory_IsNeverModified(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rt := &sampledRT{Fake: runtimetest.New()}
		r := New(Options{Runtime: rt, Workers: 2})
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan struct{})
		go func() { _ = r.Run(ctx); close(done) }()
		h := &harness{t: t, rt: rt.Fake, r: r}
		l := &sharedLog{t: t}

		events, stopWatch := r.Watch(1 << 16)
		var readers sync.WaitGroup
		readers.Go(func() { // the watch client: keeps every event's object
			for e := range events {
				l.keep("a watch event's "+e.Kind, e.Object)
			}
		})
		poke := make(chan struct{}, 1)
		readers.Go(func() { // a reader of what was shared, while the reconciler works
			for {
				select {
				case <-ctx.Done():
					return
				case <-poke:
					l.readAll()
				}
			}
		})
		read := func() { // before each change: read while it is made
			select {
			case poke <- struct{}{}:
			default:
			}
		}
		defer func() { cancel(); <-done; stopWatch(); readers.Wait() }()

		share := func(step string) {
			for _, a := range r.SharedApps() {
				l.keep("SharedApps "+a.Metadata.Name+" ("+step+")", a)
			}
			insts, _ := r.SharedInstances("")
			l.keep("SharedInstances ("+step+")", insts)
			web, _ := r.SharedInstances("web")
			l.keep("SharedInstances web ("+step+")", web)
			synctest.Wait()
			l.check(step)
		}
		replace := func(step string, apps ...*v1alpha1.App) {
			snap := v1alpha1.Snapshot{}
			for _, a := range apps {
				v1alpha1.Default(a)
				snap.Apps = append(snap.Apps, v1alpha1.SourcedApp{App: *a, Path: a.Metadata.Name + ".yaml", Dir: "/srv"})
				snap.Files = append(snap.Files, v1alpha1.FileStatus{Path: a.Metadata.Name + ".yaml", Objects: []string{a.Metadata.Name}})
			}
			l.keep("the snapshot of "+step, snap)
			read()
			r.Replace(snap)
			synctest.Wait()
			read()
			r.Replace(snap) // the resync: skipped by identity
			synctest.Wait()
			share(step)
		}

		replace("the first snapshot", withReadiness(named("web", 2)), named("db", 1))
		read()
		h.setReady("web", true)
		share("readiness")
		web0 := h.instance("web", "web-0")
		rt.setUsage(web0.UID, runtime.Usage{SampledAt: time.Now(), CPUSeconds: 2, MemoryBytes: 4096, Listening: []int32{80}})
		read()
		r.RefreshUsage()
		share("a usage refresh")
		rt.setUsage(web0.UID, runtime.Usage{SampledAt: time.Now(), CPUSeconds: 3, MemoryBytes: 8192, Listening: []int32{8080}})
		read()
		r.RefreshUsage()
		share("a second usage refresh")
		read()
		h.rt.ExitInstance("db-0", 3)
		synctest.Wait()
		share("an exit")
		read()
		h.rt.ExitInstance("db-0", 3)
		synctest.Wait()
		share("a crash loop")
		read()
		time.Sleep(2 * time.Second)
		synctest.Wait()
		share("the back-off's end")
		replace("an edit and a removal", withReadiness(named("web", 3, "/bin/other")))
		read()
		h.setReady("web", true)
		share("the rollout")
		read()
		time.Sleep(time.Minute)
		synctest.Wait()
		share("a minute later")
	})
}
