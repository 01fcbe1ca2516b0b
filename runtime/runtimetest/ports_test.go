package runtimetest

import (
	"errors"
	"testing"

	"proclet.dev/proclet/apis/v1alpha1"
	"proclet.dev/proclet/runtime"
)

func TestFakeAssignsPorts(t *testing.T) {
	f := New()
	spec := &v1alpha1.AppSpec{Command: []string{"x"}, Ports: []v1alpha1.PortSpec{
		{Name: "http", Range: "8000-8002"}, {Name: "admin", Port: 9100}}}
	start := func(uid string, ordinal int) (runtime.State, error) {
		return f.Start(t.Context(), runtime.StartSpec{UID: uid, App: "web", Ordinal: ordinal, Spec: spec})
	}
	for _, tc := range []struct {
		uid     string
		ordinal int
		http    int32
	}{{"a", 0, 8000}, {"b", 1, 8001}, {"c", 0, 8002}} { // c: a surge instance of web-0
		s, err := start(tc.uid, tc.ordinal)
		if err != nil {
			t.Fatal(err)
		}
		if s.Ports["http"] != tc.http || s.Ports["admin"] != 9100 {
			t.Errorf("%s: ports %v, want http %d, admin 9100", tc.uid, s.Ports, tc.http)
		}
		for _, o := range f.Instances("web") {
			if o.UID == tc.uid && o.Ports["http"] != tc.http {
				t.Errorf("%s: State.Ports = %v", tc.uid, o.Ports)
			}
		}
	}
	var pe *runtime.PortInUseError
	if _, err := start("d", 1); !errors.As(err, &pe) || pe.Port != 0 || pe.Name != "http" {
		t.Errorf("full range: err = %v", err)
	}
	s, err := f.Start(t.Context(), runtime.StartSpec{UID: "e", App: "web", Ordinal: 5, Spec: spec,
		Ports: map[string]int32{"http": 7000}})
	if err != nil || len(s.Ports) != 1 || s.Ports["http"] != 7000 {
		t.Errorf("explicit ports: %v, %v", s.Ports, err)
	}
}
