package runtime

import (
	"slices"
	"testing"

	"proclet.dev/proclet/apis/v1alpha1"
)

func TestExpand(t *testing.T) {
	vars := map[string]string{"A": "1", "PORT": "8000", "EMPTY": ""}
	lookup := func(name string) (string, bool) { v, ok := vars[name]; return v, ok }
	for _, tc := range []struct{ name, in, want string }{
		{"plain", "no refs", "no refs"},
		{"ref", "$(A)", "1"},
		{"refs in text", ":$(PORT)/x-$(A)", ":8000/x-1"},
		{"empty value", "[$(EMPTY)]", "[]"},
		{"unknown kept", "$(NOPE) $(A)", "$(NOPE) 1"},
		{"escaped", "$$(A)", "$(A)"},
		{"double escape", "$$$$", "$$"},
		{"escape then ref", "$$$(A)", "$1"},
		{"lone dollar", "$5 and $A", "$5 and $A"},
		{"trailing dollar", "cost $", "cost $"},
		{"unclosed", "$(A", "$(A"},
		{"unclosed after ref", "$(A)$(B", "1$(B"},
		{"empty name", "$()", "$()"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Expand(tc.in, lookup); got != tc.want {
				t.Errorf("Expand(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

func TestInstanceEnv(t *testing.T) {
	spec := &v1alpha1.AppSpec{
		Ports: []v1alpha1.PortSpec{{Name: "http"}, {Name: "admin"}},
		Env: []v1alpha1.EnvVar{
			{Name: "FIRST", Value: "$(SECOND)"}, // not defined yet: kept
			{Name: "SECOND", Value: "two"},
			{Name: "THIRD", Value: "$(SECOND)-$(PORT)-$(HOME)"},
			{Name: "HOME", Value: "/override"},
			{Name: "PROCLET_UID", Value: "mine"}, // the marker is not the spec's
		},
	}
	s := StartSpec{UID: "u1", App: "web", Instance: "web-2", Ordinal: 2, Revision: "r1", Spec: spec,
		Ports: map[string]int32{"admin": 9100, "http": 8000}}
	daemon := []string{"HOME=/root", "PROCLET_API_KEY=k", "PORT=1", "broken", "=x"}
	got := instanceEnv(daemon, "/state", s, map[string]string{"USER": "www"}).Environ()
	want := []string{
		"HOME=/override", "PORT=8000",
		"PROCLET_APP=web", "PROCLET_INSTANCE=web-2", "PROCLET_INDEX=2", "PROCLET_UID=u1",
		"PROCLET_REVISION=r1", "PROCLET_STATE_DIR=/state",
		"PORT_ADMIN=9100", "PORT_HTTP=8000", "USER=www",
		"FIRST=$(SECOND)", "SECOND=two", "THIRD=two-8000-/root",
	}
	if !slices.Equal(got, want) {
		t.Errorf("env =\n%q\nwant\n%q", got, want)
	}
}
