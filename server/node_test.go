package server

import (
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"proclet.dev/proclet/apis/v1alpha1"
)

// TestServer_Node: GET /api/v1/node is the node's identity, its folder
// resolved through the links now, the revision applied, and the counts.
func TestServer_Node(t *testing.T) {
	dir := t.TempDir()
	commit := "0123456789abcdef0123456789abcdef01234567"
	if err := os.Mkdir(filepath.Join(dir, commit), 0o755); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "current")
	if err := os.Symlink(commit, link); err != nil {
		t.Fatal(err)
	}
	f := newFake()
	f.apps[1].Status.State = v1alpha1.AppNotScheduled
	rev := commit
	s := New(Options{Status: f, Version: "v9", Node: &NodeOptions{Name: "host-a", Labels: map[string]string{"zone": "eu"},
		AdvertiseAddress: "10.0.0.5:9090", Folder: link, SourceRevision: func() string { return rev }}})
	var got v1alpha1.Node
	getJSON(t, s, "/api/v1/node", &got)
	resolved, _ := filepath.EvalSymlinks(filepath.Join(dir, commit))
	want := v1alpha1.Node{Name: "host-a", Labels: map[string]string{"zone": "eu"}, AdvertiseAddress: "10.0.0.5:9090",
		Version: "v9", Synced: true,
		Source: v1alpha1.NodeSource{Folder: link, Resolved: resolved, SourceRevision: commit},
		Counts: v1alpha1.NodeCounts{Apps: 2, NotScheduled: 1, Instances: 3, Running: 2, Ready: 2}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("node\n got %+v\nwant %+v", got, want)
	}

	if err := os.Remove(link); err != nil {
		t.Fatal(err)
	}
	getJSON(t, s, "/api/v1/node", &got)
	if got.Source.Resolved != "" || !strings.Contains(got.Source.Error, "current") {
		t.Errorf("a folder gone: source %+v, want its error", got.Source)
	}
	if rec := get(t, New(Options{Status: f}), http.MethodGet, "/api/v1/node"); rec.Code != http.StatusNotFound {
		t.Errorf("no node: %d, want 404", rec.Code)
	}
}

// TestNodeMetrics: proclet_node_info and
// proclet_manifests_source_revision_info follow the revision applied at
// each scrape.
func TestNodeMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	rev := "aaaaaaa"
	New(Options{Status: newFake(), Registerer: reg, Node: &NodeOptions{Name: "host-a", SourceRevision: func() string { return rev }}})
	for _, r := range []string{"aaaaaaa", "bbbbbbb"} {
		rev = r
		want := `# HELP proclet_manifests_source_revision_info Always 1; the label is the revision of the manifests folder last applied (a git-sync commit), empty when unknown.
# TYPE proclet_manifests_source_revision_info gauge
proclet_manifests_source_revision_info{revision="` + r + `"} 1
# HELP proclet_node_info Always 1; the labels say which node this daemon is (--node-name) and the revision of the manifests it applied.
# TYPE proclet_node_info gauge
proclet_node_info{node="host-a",source_revision="` + r + `"} 1
`
		if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "proclet_node_info", "proclet_manifests_source_revision_info"); err != nil {
			t.Error(err)
		}
	}
}
