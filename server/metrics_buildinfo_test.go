package server_test

import (
	goruntime "runtime"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"proclet.dev/proclet/server"
)

// TestBuildInfo: proclet_build_info is 1, labelled with the version and
// revision the daemon passes and the Go version; an unstamped build says
// dev and unknown rather than empty labels.
func TestBuildInfo(t *testing.T) {
	for _, c := range []struct{ version, revision, wantVersion, wantRevision string }{
		{"v1.2.3", "abc1234", "v1.2.3", "abc1234"},
		{"", "", "dev", "unknown"},
	} {
		reg := prometheus.NewRegistry()
		server.New(server.Options{Registerer: reg, Version: c.version, Revision: c.revision})
		want := `# HELP proclet_build_info Always 1; the labels say which build of proclet runs: version, VCS revision, Go version.
# TYPE proclet_build_info gauge
proclet_build_info{goversion="` + goruntime.Version() + `",revision="` + c.wantRevision + `",version="` + c.wantVersion + `"} 1
`
		if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "proclet_build_info"); err != nil {
			t.Errorf("version %q revision %q: %v", c.version, c.revision, err)
		}
	}
}
