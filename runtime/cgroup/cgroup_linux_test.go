package cgroup

import (
	"log/slog"
	"os"
	"path/filepath"
	"testing"

	"proclet.dev/proclet/apis/v1alpha1"
	"proclet.dev/proclet/runtime"
	"proclet.dev/proclet/runtime/internal/testutil"
)

// A new daemon finds the cgroup an earlier one made (adoption): limits
// known, OOM kills counted from the cgroup's creation, removed on exit.
func TestCgroup_ReopenForAdoption(t *testing.T) {
	t.Parallel()
	root, parent := testutil.FakeCgroupRoot(t, "memory cpu")
	log := slog.New(slog.DiscardHandler)
	first, err := NewManager(root, true, log)
	if err != nil {
		t.Fatal(err)
	}
	s := testutil.WithLimits(runtime.StartSpec{UID: "feedface-0000", App: "web", Instance: "web-0", Spec: &v1alpha1.AppSpec{}}, "64Mi", "")
	cg, err := first.Create(s)
	if err != nil {
		t.Fatal(err)
	}
	cg.Release() // the first daemon goes away (Detach)

	next, err := NewManager(root, true, log)
	if err != nil {
		t.Fatal(err)
	}
	if got := next.Reopen(runtime.StartSpec{UID: "0ther000", App: "web", Instance: "web-0"}); got != nil {
		t.Errorf("reopened a cgroup for another uid: %s", got.Path())
	}
	again := next.Reopen(s)
	if again == nil || !again.MemoryMax || again.Path() != filepath.Join(root, "web", "web-0-feedface") {
		t.Fatalf("reopen = %+v, want the cgroup with its memory.max", again)
	}
	if err := os.WriteFile(filepath.Join(again.Path(), "memory.events"), []byte("oom_kill 1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if !again.Exited() {
		t.Errorf("an OOM kill counted in the cgroup was not reported")
	}
	if got := testutil.Tree(t, parent); len(got) != 3 {
		t.Errorf("after the exit: %q, want the root's two files only", got)
	}
	if (*Manager)(nil).Reopen(s) != nil {
		t.Errorf("reopen without a cgroup root")
	}
}
