package runtime

import (
	"testing"

	"proclet.dev/proclet/apis/v1alpha1"
)

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
		if got := overMemoryLimit(tt.prev, tt.limit, Usage{MemoryBytes: tt.rss}); got != tt.want {
			t.Errorf("%s: overMemoryLimit(%d, %d, %d) = %d, want %d", tt.name, tt.prev, tt.limit, tt.rss, got, tt.want)
		}
	}
}

func TestLimitValues(t *testing.T) {
	spec := &v1alpha1.AppSpec{Resources: v1alpha1.Resources{Limits: v1alpha1.ResourceLimits{Memory: "256Mi", CPU: "1.5"}}}
	if got := MemoryLimit(spec); got != 256<<20 {
		t.Errorf("MemoryLimit = %d", got)
	}
	if got := CPULimitMillis(spec); got != 1500 {
		t.Errorf("CPULimitMillis = %d", got)
	}
	if MemoryLimit(nil) != 0 || CPULimitMillis(&v1alpha1.AppSpec{}) != 0 {
		t.Errorf("unset limits are not 0")
	}
}
