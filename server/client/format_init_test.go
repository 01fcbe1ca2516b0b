package client

import (
	"strings"
	"testing"
	"time"

	"proclet.dev/proclet/apis/v1alpha1"
)

// An instance in its init steps (phase Init:k/n) has a process: its PID
// and age are shown.
func TestInstanceTable_InitPhaseShowsPID(t *testing.T) {
	now := time.Now()
	started := now.Add(-time.Minute)
	tab := InstanceTable([]v1alpha1.Instance{{Name: "web-0", Phase: "Init:1/2", Reason: "Initializing", PID: 4242, StartedAt: &started}}, now)
	if row := strings.Join(tab.Rows[0], " "); !strings.Contains(row, " 4242 ") || !strings.HasSuffix(row, " 60s") {
		t.Fatalf("row %q, want the pid and the age", row)
	}
}
