package exec

import (
	"testing"
	"time"

	"proclet.dev/proclet/runtime"
	"proclet.dev/proclet/runtime/internal/testutil"
)

// The memory limit is polled on the RSS of the whole process tree: here
// the main process is a shell and only its child allocates.
// The count of samples over the limit grows; under the limit it stays 0.
func TestMemoryLimit_TreeRSSPolled(t *testing.T) {
	t.Parallel()
	h := newHarnessWith(t, Options{SampleInterval: 20 * time.Millisecond})
	over := testutil.WithLimits(h.spec("/bin/sh", "-c", workload+" --alloc 96Mi & wait"), "48Mi", "")
	under := testutil.WithLimits(h.spec("/bin/sh", "-c", workload+" --alloc 96Mi & wait"), "1Gi", "")
	h.start(over)
	h.start(under)
	var o, u runtime.State
	waitFor(t, 10*time.Second, "3 samples over the limit", func() bool {
		o, _ = h.find(over.UID)
		return o.Usage.OverMemoryLimit >= 3
	})
	if o.Usage.MemoryBytes <= 48<<20 {
		t.Errorf("usage %d bytes, counted over a 48Mi limit", o.Usage.MemoryBytes)
	}
	waitFor(t, 5*time.Second, "the second instance's tree sampled at 96Mi", func() bool {
		u, _ = h.find(under.UID)
		return u.Usage.MemoryBytes > 96<<20
	})
	if u.Usage.OverMemoryLimit != 0 {
		t.Errorf("under a 1Gi limit: OverMemoryLimit = %d, want 0", u.Usage.OverMemoryLimit)
	}
}

// With memory.max in its cgroup the kernel enforces the limit: the
// sampler does not count (a tree-summed RSS counts shared pages once per
// process and could restart an instance the cgroup keeps under its limit).
func TestMemoryLimit_NotPolledUnderMemoryMax(t *testing.T) {
	t.Parallel()
	root, _ := testutil.FakeCgroupRoot(t, "memory")
	h := newHarnessWith(t, Options{SampleInterval: 20 * time.Millisecond, CgroupRoot: root, fakeCgroupFS: true})
	s := testutil.WithLimits(h.spec(workload, "--alloc", "96Mi"), "48Mi", "")
	h.start(s)
	var st runtime.State
	waitFor(t, 10*time.Second, "the tree sampled at 96Mi", func() bool {
		h.e.SampleStale() // not polled: sampled when read
		st, _ = h.find(s.UID)
		return st.Usage.MemoryBytes > 96<<20
	})
	if st.Usage.OverMemoryLimit != 0 {
		t.Errorf("OverMemoryLimit = %d under memory.max, want 0", st.Usage.OverMemoryLimit)
	}
}
func TestOverMemoryLimit(t *testing.T) {
	const mi = 1 << 20
	tests := []struct {
		name  string
		prev  int
		limit int64
		rss   uint64
		want  int
	}{
		{"no limit", 5, 0, 1 << 40, 0},
		{"under", 0, 256 * mi, 100 * mi, 0},
		{"at the limit is not over", 1, 256 * mi, 256 * mi, 0},
		{"first sample over", 0, 256 * mi, 300 * mi, 1},
		{"consecutive", 1, 256 * mi, 300 * mi, 2},
		{"back under resets", 4, 256 * mi, 200 * mi, 0},
	}
	for _, tt := range tests {
		if got := overMemoryLimit(tt.prev, tt.limit, runtime.Usage{MemoryBytes: tt.rss}); got != tt.want {
			t.Errorf("%s: overMemoryLimit(%d, %d, %d) = %d, want %d", tt.name, tt.prev, tt.limit, tt.rss, got, tt.want)
		}
	}
}
