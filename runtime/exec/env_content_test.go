//go:build linux

package exec

import (
	"slices"
	"strings"
	"testing"

	"proclet.dev/proclet/apis/v1alpha1"

	"proclet.dev/proclet/runtime"
)

func TestInstanceEnvFromFiles(t *testing.T) {
	spec := &v1alpha1.AppSpec{
		EnvFrom: []v1alpha1.EnvFromSource{{File: ".env"}},
		Env: []v1alpha1.EnvVar{
			{Name: "MODE", Value: "from-spec"}, // env overrides envFrom
			{Name: "URL", Value: "http://$(HOST)"},
			{Name: "TOKEN", ValueFrom: &v1alpha1.EnvVarSource{File: "token"}},
		},
	}
	content := &v1alpha1.Content{
		EnvFrom: []v1alpha1.EnvValue{{Name: "HOST", Value: v1alpha1.NewSecret("db")}, {Name: "MODE", Value: v1alpha1.NewSecret("from-file")}},
		Values:  map[int]v1alpha1.Secret{2: v1alpha1.NewSecret("$(HOST) is not expanded")},
	}
	s := runtime.StartSpec{UID: "u", App: "a", Instance: "a-0", Revision: "r", Spec: spec, Content: content}
	l, total, err := instanceEnv(nil, "/state", s, nil)
	if err != nil {
		t.Fatal(err)
	}
	got := l.Environ()
	want := []string{"PROCLET_APP=a", "PROCLET_INSTANCE=a-0", "PROCLET_INDEX=0", "PROCLET_UID=u", "PROCLET_REVISION=r",
		"PROCLET_STATE_DIR=/state", "HOST=db", "MODE=from-spec", "URL=http://db", "TOKEN=$(HOST) is not expanded"}
	if !slices.Equal(got, want) {
		t.Errorf("env =\n%q\nwant\n%q", got, want)
	}
	if total != len("HOST=db")+len("MODE=from-file")+len("MODE=from-spec")+len("URL=http://db")+len("TOKEN=$(HOST) is not expanded") {
		t.Errorf("total %d", total)
	}

	// A valueFrom the watcher did not read fails the start, naming the
	// field and the file.
	s.Content = &v1alpha1.Content{}
	if _, _, err := instanceEnv(nil, "/state", s, nil); err == nil || err.Error() != "spec.env[2].valueFrom (TOKEN): the file token was not read" {
		t.Errorf("unread valueFrom: %v", err)
	}

	// envFrom's values count toward the total bound, and the error never
	// shows a value.
	big := strings.Repeat("s", 60<<10)
	s.Spec = &v1alpha1.AppSpec{}
	s.Content = &v1alpha1.Content{}
	for i := range 18 {
		s.Content.EnvFrom = append(s.Content.EnvFrom, v1alpha1.EnvValue{Name: "E" + string(rune('A'+i)), Value: v1alpha1.NewSecret(big)})
	}
	_, _, err = instanceEnv(nil, "/state", s, nil)
	if err == nil || !strings.HasPrefix(err.Error(), "spec.envFrom (ER): the expanded env entries and arguments reach") || strings.Contains(err.Error(), "sss") {
		t.Errorf("over the total: %v", err)
	}
}
