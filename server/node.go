package server

import (
	"maps"
	"net/http"
	"path/filepath"

	"github.com/prometheus/client_golang/prometheus"

	"proclet.dev/proclet/apis/v1alpha1"
)

// NodeOptions are the daemon's identity and source (Options.Node).
type NodeOptions struct {
	// Name is --node-name: the node label of the targets and of
	// proclet_node_info.
	Name string
	// Labels are --node-labels (never modified).
	Labels map[string]string
	// AdvertiseAddress is the host:port others reach this daemon at.
	AdvertiseAddress string
	// Folder is the manifests folder, absolute.
	Folder string
	// SourceRevision returns the revision of the manifests last applied
	// (the reconciler's); nil: none.
	SourceRevision func() string
}

func (n *NodeOptions) revision() string {
	if n.SourceRevision == nil {
		return ""
	}
	return n.SourceRevision()
}

// nodeInfo serves GET /api/v1/node (v1alpha1.Node). It resolves the
// folder's links now (a few readlink calls): the other fields are the
// state's, as every other endpoint reads it. 404 when the server has no
// NodeOptions (a server embedded without a node).
func (s *Server) nodeInfo(w http.ResponseWriter, r *http.Request) {
	if s.node == nil {
		s.writeError(w, r, notFound("this server has no node identity"))
		return
	}
	n := v1alpha1.Node{Name: s.node.Name, Labels: maps.Clone(s.node.Labels), AdvertiseAddress: s.node.AdvertiseAddress,
		Version: s.version, Synced: s.status.Ready(),
		Source: v1alpha1.NodeSource{Folder: s.node.Folder, SourceRevision: s.node.revision(), Error: s.status.SourceError()}}
	if n.Labels == nil {
		n.Labels = map[string]string{}
	}
	if resolved, err := filepath.EvalSymlinks(s.node.Folder); err == nil {
		n.Source.Resolved = resolved
	} else if n.Source.Error == "" {
		n.Source.Error = err.Error()
	}
	for _, a := range s.status.Apps() {
		n.Counts.Apps++
		if a.Status != nil && a.Status.State == v1alpha1.AppNotScheduled {
			n.Counts.NotScheduled++
		}
	}
	insts, _ := s.status.Instances("")
	for i := range insts {
		n.Counts.Instances++
		if running(&insts[i]) {
			n.Counts.Running++
		}
		if insts[i].Ready {
			n.Counts.Ready++
		}
	}
	writeJSON(w, http.StatusOK, n)
}

// nodeCollector exports proclet_node_info and
// proclet_manifests_source_revision_info at scrape time: the revision
// changes with every commit git-sync checks out.
type nodeCollector struct{ s *Server }

var (
	nodeInfoDesc = prometheus.NewDesc("proclet_node_info",
		"Always 1; the labels say which node this daemon is (--node-name) and the revision of the manifests it applied.",
		[]string{"node", "source_revision"}, nil)
	sourceRevisionDesc = prometheus.NewDesc("proclet_manifests_source_revision_info",
		"Always 1; the label is the revision of the manifests folder last applied (a git-sync commit), empty when unknown.",
		[]string{"revision"}, nil)
)

func (c *nodeCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- nodeInfoDesc
	ch <- sourceRevisionDesc
}

func (c *nodeCollector) Collect(ch chan<- prometheus.Metric) {
	rev := c.s.node.revision()
	ch <- prometheus.MustNewConstMetric(nodeInfoDesc, prometheus.GaugeValue, 1, c.s.node.Name, rev)
	ch <- prometheus.MustNewConstMetric(sourceRevisionDesc, prometheus.GaugeValue, 1, rev)
}
