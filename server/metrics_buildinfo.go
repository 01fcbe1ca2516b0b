package server

import (
	goruntime "runtime"

	"github.com/prometheus/client_golang/prometheus"
)

// registerBuildInfo exports proclet_build_info: always 1, its labels the
// daemon's version and VCS revision (Options.Version and Revision, "dev"
// and "unknown" when unset, as an unstamped build says) and the Go
// version it was built with. A dashboard joins on it to show which build
// runs where, and a rollout of the daemon as the label changing.
func registerBuildInfo(reg prometheus.Registerer, version, revision string) {
	if version == "" {
		version = "dev"
	}
	if revision == "" {
		revision = "unknown"
	}
	g := prometheus.NewGauge(prometheus.GaugeOpts{Name: "proclet_build_info",
		Help:        "Always 1; the labels say which build of proclet runs: version, VCS revision, Go version.",
		ConstLabels: prometheus.Labels{"version": version, "revision": revision, "goversion": goruntime.Version()}})
	g.Set(1)
	reg.MustRegister(g)
}
