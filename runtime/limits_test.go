package runtime

import (
	"testing"

	"proclet.dev/proclet/apis/v1alpha1"
)

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
