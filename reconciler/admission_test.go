package reconciler

import (
	"strings"
	"testing"

	"proclet.dev/proclet/apis/v1alpha1"
)

func sourced(name string, replicas int32, ports ...v1alpha1.PortSpec) v1alpha1.SourcedApp {
	a := testApp(replicas, strategy(v1alpha1.FromInt(1), v1alpha1.FromInt(0)))
	a.Metadata.Name = name
	a.Spec.Ports = ports
	return v1alpha1.SourcedApp{App: *a, Path: name + ".yaml"}
}

// withSocket gives sa a socket "http" on port.
func withSocket(sa v1alpha1.SourcedApp, port int32) v1alpha1.SourcedApp {
	sa.App.Spec.Sockets = []v1alpha1.SocketSpec{{Name: "http", Port: port, Host: "127.0.0.1"}}
	return sa
}

func TestAdmit(t *testing.T) {
	fixed := func(p int32) v1alpha1.PortSpec { return v1alpha1.PortSpec{Name: "http", Port: p} }
	rng := func(r string) v1alpha1.PortSpec { return v1alpha1.PortSpec{Name: "http", Range: r} }
	tests := []struct {
		name        string
		apps        []v1alpha1.SourcedApp
		known       []string
		wantRefused map[string]string // app -> part of the message
	}{
		{name: "disjoint ports", apps: []v1alpha1.SourcedApp{sourced("a", 1, fixed(8080)), sourced("b", 2, rng("9000-9010"))}},
		{name: "same fixed port: the newcomer in name order loses",
			apps:        []v1alpha1.SourcedApp{sourced("a", 1, fixed(8080)), sourced("b", 1, fixed(8080))},
			wantRefused: map[string]string{"b": `port 8080 (http) is already claimed by app "a"`}},
		{name: "same fixed port: the running app keeps it",
			apps: []v1alpha1.SourcedApp{sourced("a", 1, fixed(8080)), sourced("b", 1, fixed(8080))}, known: []string{"b"},
			wantRefused: map[string]string{"a": `already claimed by app "b"`}},
		{name: "fixed port inside another's range",
			apps:        []v1alpha1.SourcedApp{sourced("a", 2, rng("8000-8010")), sourced("b", 1, fixed(8005))},
			wantRefused: map[string]string{"b": "inside the range 8000-8010"}},
		{name: "overlapping ranges with room for both",
			apps: []v1alpha1.SourcedApp{sourced("a", 2, rng("8000-8009")), sourced("b", 2, rng("8005-8014"))}},
		{name: "overlapping ranges without room for both",
			apps:        []v1alpha1.SourcedApp{sourced("a", 3, rng("8000-8004")), sourced("b", 3, rng("8002-8006"))},
			wantRefused: map[string]string{"b": "cannot fit 4 + 4"}},
		{name: "a socket on another app's fixed port",
			apps:        []v1alpha1.SourcedApp{sourced("a", 1, fixed(8080)), withSocket(sourced("b", 3), 8080)},
			wantRefused: map[string]string{"b": `spec.sockets[0].port: port 8080 (socket http) is already claimed by app "a"`}},
		{name: "a fixed port on another app's socket",
			apps:        []v1alpha1.SourcedApp{withSocket(sourced("a", 3), 8080), sourced("b", 1, fixed(8080))},
			wantRefused: map[string]string{"b": `spec.ports[0]: port 8080 (http) is already claimed by app "a"`}},
		{name: "a socket inside another app's range",
			apps:        []v1alpha1.SourcedApp{sourced("a", 2, rng("8000-8010")), withSocket(sourced("b", 3), 8005)},
			wantRefused: map[string]string{"b": `spec.sockets[0].port: port 8005 (socket http) is inside the range 8000-8010`}},
		{name: "two apps on one socket port",
			apps:        []v1alpha1.SourcedApp{withSocket(sourced("a", 3), 8080), withSocket(sourced("b", 3), 8080)},
			wantRefused: map[string]string{"b": `spec.sockets[0].port: port 8080 (socket http) is already claimed by app "a"`}},
		{name: "a socket for many replicas claims its port once",
			apps: []v1alpha1.SourcedApp{withSocket(sourced("a", 30), 8080), sourced("b", 2, rng("8081-8090"))}},
		{name: "a range too small for replicas + maxSurge",
			apps:        []v1alpha1.SourcedApp{sourced("a", 3, rng("8000-8002"))},
			wantRefused: map[string]string{"a": "replicas + maxSurge need 4"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			known := map[string]bool{}
			for _, k := range tt.known {
				known[k] = true
			}
			ok, refused := admit(tt.apps, func(n string) bool { return known[n] })
			if len(ok)+len(refused) != len(tt.apps) {
				t.Fatalf("admitted %d + refused %d of %d", len(ok), len(refused), len(tt.apps))
			}
			got := map[string]string{}
			for _, r := range refused {
				got[r.app.App.Metadata.Name] = r.err.Field + ": " + r.err.Message
				if r.err.Reason != v1alpha1.ReasonPortConflict || r.err.File != r.app.Path ||
					!strings.HasPrefix(r.err.Field, "spec.ports[") && !strings.HasPrefix(r.err.Field, "spec.sockets[") {
					t.Errorf("refusal %+v", r.err)
				}
			}
			if len(got) != len(tt.wantRefused) {
				t.Fatalf("refused %v, want %v", got, tt.wantRefused)
			}
			for name, want := range tt.wantRefused {
				if !strings.Contains(got[name], want) {
					t.Errorf("%s refused with %q, want it to contain %q", name, got[name], want)
				}
			}
		})
	}
}

func TestAdmit_RefusesADependencyCycle(t *testing.T) {
	a, b, c := sourced("a", 1), sourced("b", 1), sourced("c", 1)
	a.App.Spec.DependsOn = []v1alpha1.Dependency{{App: "b"}}
	b.App.Spec.DependsOn = []v1alpha1.Dependency{{App: "a"}}
	c.App.Spec.DependsOn = []v1alpha1.Dependency{{App: "a"}}
	apps := []v1alpha1.SourcedApp{a, b, c}
	ok, refused := admit(apps, func(string) bool { return false })
	if len(ok) != 1 || apps[ok[0]].App.Metadata.Name != "c" || len(refused) != 2 {
		t.Fatalf("ok %d refused %d", len(ok), len(refused))
	}
	if !strings.Contains(refused[0].err.Message, "dependency cycle: a -> b -> a") {
		t.Fatalf("message %q", refused[0].err.Message)
	}
}
