//go:build linux

package exec

import (
	"errors"
	"slices"
	"strconv"
	"strings"
	"testing"

	"proclet.dev/proclet/apis/v1alpha1"

	"proclet.dev/proclet/runtime"
)

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
	s := runtime.StartSpec{UID: "u1", App: "web", Instance: "web-2", Ordinal: 2, Revision: "r1", Spec: spec,
		Ports: map[string]int32{"admin": 9100, "http": 8000}}
	daemon := []string{"HOME=/root", "PROCLET_API_KEY=k", "PORT=1", "broken", "=x"}
	l, _, err := instanceEnv(daemon, "/state", s, map[string]string{"USER": "www"})
	if err != nil {
		t.Fatal(err)
	}
	got := l.Environ()
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

// TestInstanceEnvBounds: values validation cannot see (the daemon's own
// environment) are bounded when the instance starts, and the error names
// the field without building the value.
func TestInstanceEnvBounds(t *testing.T) {
	daemon := []string{"BIG=" + strings.Repeat("b", 60<<10)}
	for _, tc := range []struct {
		name string
		env  []v1alpha1.EnvVar
		want string // "" = fits
	}{
		{"one reference fits", []v1alpha1.EnvVar{{Name: "A", Value: "$(BIG)"}}, ""},
		{"two references are over a value's bound", []v1alpha1.EnvVar{{Name: "OK", Value: "x"}, {Name: "A", Value: "$(BIG)$(BIG)"}},
			"spec.env[1].value (A): expands to 122880 bytes, over the bound of 65536 bytes"},
		{"eighteen are over the total", repeatEnv(18, "$(BIG)"),
			"spec.env[17].value (E17): the expanded env entries and arguments reach 1105982 bytes, over the bound of 1048576 bytes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := runtime.StartSpec{UID: "u", App: "a", Instance: "a-0", Spec: &v1alpha1.AppSpec{Env: tc.env}}
			_, _, err := instanceEnv(daemon, "/state", s, nil)
			switch {
			case tc.want == "" && err != nil:
				t.Fatal(err)
			case tc.want != "" && (err == nil || !strings.HasPrefix(err.Error(), tc.want)):
				t.Fatalf("err = %v, want %s", err, tc.want)
			}
			var tl *v1alpha1.ExpandTooLongError
			if tc.want != "" && !errors.As(err, &tl) {
				t.Errorf("%v is not an ExpandTooLongError", err)
			}
		})
	}
}

func repeatEnv(n int, value string) []v1alpha1.EnvVar {
	out := make([]v1alpha1.EnvVar, n)
	for i := range out {
		out[i] = v1alpha1.EnvVar{Name: "E" + strconv.Itoa(i), Value: value}
	}
	return out
}
