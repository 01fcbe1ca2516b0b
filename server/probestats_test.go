package server

import (
	"testing"
	"time"
)

func TestProbeRecorder_CountsAndBuckets(t *testing.T) {
	p := NewProbeRecorder()
	p.Record("web", "readiness", true, 3*time.Millisecond)
	p.Record("web", "readiness", false, 2*time.Second)
	p.Record("web", "liveness", true, time.Millisecond)
	var got ProbeStats
	for _, s := range p.ProbeStats() {
		if s.App == "web" && s.Probe == "readiness" {
			got = s
		}
	}
	if got.Success != 1 || got.Failure != 1 {
		t.Fatalf("counts %+v", got)
	}
	// 3 ms is in every bucket from .005 on; 2 s from 2.5 on.
	if got.Buckets[0] != 1 || got.Buckets[len(got.Buckets)-1] != 2 {
		t.Fatalf("buckets %v", got.Buckets)
	}
	if got.DurationSum < 2.0 || got.DurationSum > 2.01 {
		t.Fatalf("sum %v", got.DurationSum)
	}
}
