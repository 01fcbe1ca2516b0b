package runtime

import (
	"testing"
	"time"
)

// The memory limit is polled on the RSS of the whole process tree: here
// the main process is a shell and only its child allocates (TRAPS 35).
// The count of samples over the limit grows; under the limit it stays 0.
func TestMemoryLimit_TreeRSSPolled(t *testing.T) {
	t.Parallel()
	h := newHarnessWith(t, ExecOptions{SampleInterval: 20 * time.Millisecond})
	over := withLimits(h.spec("/bin/sh", "-c", workload+" --alloc 96Mi & wait"), "48Mi", "")
	under := withLimits(h.spec("/bin/sh", "-c", workload+" --alloc 96Mi & wait"), "1Gi", "")
	h.start(over)
	h.start(under)
	var o, u State
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
	root, _ := fakeCgroupRoot(t, "memory")
	h := newHarnessWith(t, ExecOptions{SampleInterval: 20 * time.Millisecond, CgroupRoot: root, fakeCgroupFS: true})
	s := withLimits(h.spec(workload, "--alloc", "96Mi"), "48Mi", "")
	h.start(s)
	var st State
	waitFor(t, 10*time.Second, "the tree sampled at 96Mi", func() bool {
		st, _ = h.find(s.UID)
		return st.Usage.MemoryBytes > 96<<20
	})
	if st.Usage.OverMemoryLimit != 0 {
		t.Errorf("OverMemoryLimit = %d under memory.max, want 0", st.Usage.OverMemoryLimit)
	}
}
