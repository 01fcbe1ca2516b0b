package testutil

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"proclet.dev/proclet/apis/v1alpha1"
	"proclet.dev/proclet/runtime"
)

// FakeCgroupRoot makes a plain folder that stands for a delegated cgroup
// v2 subtree: cgroup.controllers lists controllers, every other file is
// created by the runtime's writes. It is made inside a parent folder of its
// own, returned too, so a test can check nothing appears beside it.
func FakeCgroupRoot(t testing.TB, controllers string) (root, parent string) {
	t.Helper()
	parent = t.TempDir()
	root = filepath.Join(parent, "cgroup")
	if err := os.Mkdir(root, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string]string{"cgroup.controllers": controllers + "\n", "cgroup.subtree_control": ""} {
		if err := os.WriteFile(filepath.Join(root, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root, parent
}

// Tree lists what dir holds, every level, relative to dir and sorted.
func Tree(t testing.TB, dir string) []string {
	t.Helper()
	var out []string
	filepath.WalkDir(dir, func(p string, _ os.DirEntry, err error) error {
		if err == nil && p != dir {
			rel, _ := filepath.Rel(dir, p)
			out = append(out, rel)
		}
		return nil
	})
	slices.Sort(out)
	return out
}

// WithLimits is s with resources.limits memory and cpu set.
func WithLimits(s runtime.StartSpec, memory, cpu string) runtime.StartSpec {
	s.Spec.Resources.Limits = v1alpha1.ResourceLimits{Memory: v1alpha1.Quantity(memory), CPU: v1alpha1.Quantity(cpu)}
	return s
}

// OpenUnder counts this process's descriptors open on files under dir
// (as /proc/self/fd resolves them: give dir with its links resolved).
func OpenUnder(t testing.TB, dir string) int {
	t.Helper()
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range entries {
		target, err := os.Readlink(filepath.Join("/proc/self/fd", e.Name()))
		if err == nil && strings.HasPrefix(target, dir+string(filepath.Separator)) {
			n++
		}
	}
	return n
}
