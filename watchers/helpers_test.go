package watchers

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"proclet.dev/proclet/apis/v1alpha1"
)

// waitTimeout bounds every wait for the watcher; generous for -race on 2 cores.
const waitTimeout = 10 * time.Second

// recSink records what a Dir sends and wakes waiters.
type recSink struct {
	mu      sync.Mutex
	snaps   []v1alpha1.Snapshot // guarded by mu
	unavail []error             // guarded by mu
	changed chan struct{}
}

func newRecSink() *recSink { return &recSink{changed: make(chan struct{}, 1)} }

func (s *recSink) Replace(snap v1alpha1.Snapshot) {
	s.mu.Lock()
	s.snaps = append(s.snaps, snap)
	s.mu.Unlock()
	s.notify()
}

func (s *recSink) Unavailable(err error) {
	s.mu.Lock()
	s.unavail = append(s.unavail, err)
	s.mu.Unlock()
	s.notify()
}

func (s *recSink) notify() {
	select {
	case s.changed <- struct{}{}:
	default:
	}
}

func (s *recSink) counts() (replaces, unavailable int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.snaps), len(s.unavail)
}

func (s *recSink) all() []v1alpha1.Snapshot {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.snaps)
}

// waitUntil polls cond on every change until it holds or the deadline passes.
func (s *recSink) waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.NewTimer(waitTimeout)
	defer deadline.Stop()
	for !cond() {
		select {
		case <-s.changed:
		case <-deadline.C:
			t.Fatalf("timed out waiting for %s; last snapshot: %s", what, s.describeLast())
		}
	}
}

// waitSnap waits for a snapshot satisfying cond and returns it.
func (s *recSink) waitSnap(t *testing.T, what string, cond func(v1alpha1.Snapshot) bool) v1alpha1.Snapshot {
	t.Helper()
	var got v1alpha1.Snapshot
	s.waitUntil(t, what, func() bool {
		s.mu.Lock()
		defer s.mu.Unlock()
		if n := len(s.snaps); n > 0 && cond(s.snaps[n-1]) {
			got = s.snaps[n-1]
			return true
		}
		return false
	})
	return got
}

// waitUnavailable waits for the n-th Unavailable call.
func (s *recSink) waitUnavailable(t *testing.T, n int) {
	t.Helper()
	s.waitUntil(t, fmt.Sprintf("Unavailable #%d", n), func() bool { _, u := s.counts(); return u >= n })
}

func (s *recSink) describeLast() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.snaps) == 0 {
		return fmt.Sprintf("none (%d unavailable)", len(s.unavail))
	}
	return describe(s.snaps[len(s.snaps)-1])
}

func describe(snap v1alpha1.Snapshot) string {
	var b strings.Builder
	fmt.Fprintf(&b, "rev=%q apps=[", snap.SourceRevision)
	for _, a := range snap.Apps {
		fmt.Fprintf(&b, "%s(%s %v) ", a.App.Metadata.Name, a.Path, a.App.Spec.Command)
	}
	b.WriteString("] files=[")
	for _, f := range snap.Files {
		fmt.Fprintf(&b, "%s%v", f.Path, f.Objects)
		if f.Error != nil {
			fmt.Fprintf(&b, "!%s:%s", f.Error.Reason, f.Error.Message)
		}
		b.WriteString(" ")
	}
	return b.String() + "]"
}

// appCmd returns the first command word of app name, or "" when absent.
func appCmd(snap v1alpha1.Snapshot, name string) string {
	for _, a := range snap.Apps {
		if a.App.Metadata.Name == name {
			return strings.Join(a.App.Spec.Command, " ")
		}
	}
	return ""
}

func appNames(snap v1alpha1.Snapshot) []string {
	out := []string{}
	for _, a := range snap.Apps {
		out = append(out, a.App.Metadata.Name)
	}
	return out
}

func fileStatus(snap v1alpha1.Snapshot, path string) (v1alpha1.FileStatus, bool) {
	for _, f := range snap.Files {
		if f.Path == path {
			return f, true
		}
	}
	return v1alpha1.FileStatus{}, false
}

// manifest is a valid single-document App (valid for the real decoder too).
func manifest(name, cmd string) string {
	return fmt.Sprintf("apiVersion: proclet.dev/v1alpha1\nkind: App\nmetadata:\n  name: %s\nspec:\n  command: [%q]\n", name, cmd)
}

// writeAtomic writes data to a hidden temp file beside path and renames it
// over path, as editors and config tools do.
func writeAtomic(t *testing.T, path, data string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	tmp := filepath.Join(filepath.Dir(path), ".tmp-"+filepath.Base(path))
	if err := os.WriteFile(tmp, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

func writeFile(t testing.TB, path, data string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

func symlink(t *testing.T, target, link string) {
	t.Helper()
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
}

func rename(t *testing.T, from, to string) {
	t.Helper()
	if err := os.Rename(from, to); err != nil {
		t.Fatal(err)
	}
}

// startDir runs a Dir on root until the test ends.
func startDir(t *testing.T, opts Options, tweak func(*Dir)) (*Dir, *recSink) {
	t.Helper()
	sink := newRecSink()
	if opts.Resync == 0 {
		opts.Resync = time.Hour // events only, unless a test asks for resync
	}
	d := New(opts, sink)
	if tweak != nil {
		tweak(d)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	return d, sink
}
