package client

import (
	"testing"
	"time"

	"proclet.dev/proclet/apis/v1alpha1"
)

func TestHumanDuration(t *testing.T) {
	for _, tc := range []struct {
		d    time.Duration
		want string
	}{
		{-time.Second, "0s"},
		{0, "0s"},
		{1500 * time.Millisecond, "1s"},
		{119 * time.Second, "119s"},
		{2 * time.Minute, "2m"},
		{5*time.Minute + 7*time.Second, "5m7s"},
		{10*time.Minute + 7*time.Second, "10m"},
		{179 * time.Minute, "179m"},
		{3 * time.Hour, "3h"},
		{7*time.Hour + 59*time.Minute, "7h59m"},
		{8*time.Hour + 30*time.Minute, "8h"},
		{47 * time.Hour, "47h"},
		{48 * time.Hour, "2d"},
		{3*24*time.Hour + 5*time.Hour, "3d5h"},
		{8 * 24 * time.Hour, "8d"},
		{729 * 24 * time.Hour, "729d"},
		{(730 + 30) * 24 * time.Hour, "2y30d"},
		{9 * 365 * 24 * time.Hour, "9y"},
	} {
		if got := HumanDuration(tc.d); got != tc.want {
			t.Errorf("HumanDuration(%v) = %q, want %q", tc.d, got, tc.want)
		}
	}
}

func TestAge(t *testing.T) {
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	then := now.Add(-90 * time.Minute)
	if got := Age(&then, now); got != "90m" {
		t.Errorf("Age = %q", got)
	}
	if got := Age(nil, now); got != "-" {
		t.Errorf("Age(nil) = %q", got)
	}
	if got := Age(&time.Time{}, now); got != "-" {
		t.Errorf("Age(zero) = %q", got)
	}
}

func TestBytes(t *testing.T) {
	for _, tc := range []struct {
		n    uint64
		want string
	}{
		{0, "-"}, {512, "512B"}, {1024, "1Ki"}, {900 << 10, "900Ki"}, {12<<20 + 5, "12Mi"},
		{1536 << 20, "1.5Gi"},
	} {
		if got := Bytes(tc.n); got != tc.want {
			t.Errorf("Bytes(%d) = %q, want %q", tc.n, got, tc.want)
		}
	}
}

func TestInstanceCells(t *testing.T) {
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name                   string
		in                     v1alpha1.Instance
		ports, phase, restarts string
	}{
		{"named ports sorted", v1alpha1.Instance{Phase: "Running", Ports: map[string]int32{"http": 8000, "admin": 9100}},
			"admin:9100,http:8000", "Running", "0"},
		{"listening ports when none named", v1alpha1.Instance{Phase: "Running", Listening: []int32{8001, 8000}},
			"8000,8001", "Running", "0"},
		{"crash loop", v1alpha1.Instance{Phase: "Pending", Reason: "CrashLoopBackOff", Restarts: 4,
			LastExit: &v1alpha1.ExitStatus{Code: 1, Reason: "Error", At: now.Add(-3 * time.Minute)}},
			"-", "Pending (CrashLoopBackOff)", "4 (3m ago)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := InstancePorts(&tc.in); got != tc.ports {
				t.Errorf("ports = %q, want %q", got, tc.ports)
			}
			if got := InstancePhase(&tc.in); got != tc.phase {
				t.Errorf("phase = %q, want %q", got, tc.phase)
			}
			if got := Restarts(&tc.in, now); got != tc.restarts {
				t.Errorf("restarts = %q, want %q", got, tc.restarts)
			}
		})
	}
	if got := CPUPercent(1.54); got != "1.5%" {
		t.Errorf("CPUPercent = %q", got)
	}
}
