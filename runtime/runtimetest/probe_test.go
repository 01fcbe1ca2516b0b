package runtimetest

import (
	"context"
	"testing"
	"time"

	"proclet.dev/proclet/apis/v1alpha1"
	"proclet.dev/proclet/runtime"
)

func TestFakeProbeStatus(t *testing.T) {
	t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	f := New()
	f.Now = func() time.Time { return t0 }
	plain, err := f.Start(context.Background(), runtime.StartSpec{UID: "u1", App: "web", Instance: "web-0", Spec: &v1alpha1.AppSpec{}})
	if err != nil {
		t.Fatal(err)
	}
	if want := (runtime.ProbeStatus{Started: true, Ready: true, ReadySince: t0}); plain.Probe != want {
		t.Errorf("without probes: %+v, want %+v", plain.Probe, want)
	}
	spec := &v1alpha1.AppSpec{ReadinessProbe: &v1alpha1.Probe{}}
	probed, err := f.Start(context.Background(), runtime.StartSpec{UID: "u2", App: "web", Instance: "web-1", Ordinal: 1, Spec: spec})
	if err != nil {
		t.Fatal(err)
	}
	if want := (runtime.ProbeStatus{Started: true}); probed.Probe != want {
		t.Errorf("with a readiness probe: %+v, want %+v", probed.Probe, want)
	}

	ready := runtime.ProbeStatus{Started: true, Ready: true, ReadySince: t0.Add(time.Second)}
	f.SetProbe("u2", ready)
	if ev := <-f.Events(); ev != (runtime.Event{App: "web", UID: "u2"}) {
		t.Errorf("event %+v", ev)
	}
	if got := f.Instances("web")[1].Probe; got != ready {
		t.Errorf("after SetProbe: %+v, want %+v", got, ready)
	}
}
