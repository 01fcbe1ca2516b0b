package server

import (
	"maps"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"proclet.dev/proclet/apis/v1alpha1"
)

// targetGroup is one group of Prometheus HTTP service discovery.
type targetGroup struct {
	Targets []string          `json:"targets"`
	Labels  map[string]string `json:"labels"`
}

// targets serves GET /api/v1/targets in the Prometheus HTTP SD format. A
// group shares its labels, so there is one group per ready instance:
// target host:port (Options.AdvertiseHost and the instance's first port,
// in the order of the app's spec.ports; instances without a port are left
// out), labels app, replica (the instance's name), revision, node
// (Options.Node's name, when set), and each of the app's labels as
// label_<name>, the name sanitized (see promLabel).
func (s *Server) targets(w http.ResponseWriter, r *http.Request) {
	groups := []targetGroup{}
	insts, _ := s.status.Instances("")
	byApp := map[string][]v1alpha1.Instance{}
	for _, i := range insts {
		if i.Ready {
			byApp[i.App] = append(byApp[i.App], i)
		}
	}
	for _, app := range s.status.Apps() {
		ready := byApp[app.Metadata.Name]
		if len(ready) == 0 {
			continue
		}
		appLabels := promLabels(app.Metadata.Labels)
		for _, inst := range ready {
			port, ok := firstPort(app.Spec.Ports, inst.Ports)
			if !ok {
				continue
			}
			labels := maps.Clone(appLabels)
			labels["app"] = app.Metadata.Name
			labels["replica"] = inst.Name
			labels["revision"] = inst.Revision
			if s.node != nil {
				labels["node"] = s.node.Name
			}
			groups = append(groups, targetGroup{
				Targets: []string{net.JoinHostPort(s.advertise, strconv.Itoa(int(port)))},
				Labels:  labels,
			})
		}
	}
	writeJSON(w, http.StatusOK, groups)
}

// firstPort is the instance's port for the first of the app's ports it
// has one for.
func firstPort(spec []v1alpha1.PortSpec, ports map[string]int32) (int32, bool) {
	for _, p := range spec {
		if n, ok := ports[p.Name]; ok && n > 0 {
			return n, true
		}
	}
	return 0, false
}

// promLabels turns an app's labels into Prometheus labels named
// label_<name> (as kube-state-metrics does: never a clash with app,
// replica or revision, and always a valid name), every character outside
// [a-zA-Z0-9_] replaced by "_". When two names sanitize alike, the first
// in sorted order wins.
func promLabels(in map[string]string) map[string]string {
	out := make(map[string]string, len(in)+3)
	for _, k := range slices.Sorted(maps.Keys(in)) {
		name := promLabel(k)
		if _, taken := out[name]; !taken {
			out[name] = in[k]
		}
	}
	return out
}

func promLabel(k string) string {
	var b strings.Builder
	b.WriteString("label_")
	for _, c := range k {
		if c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') {
			b.WriteRune(c)
		} else {
			b.WriteByte('_')
		}
	}
	return b.String()
}

// advertiseHost is the host part of h ("host", "host:port", "[v6]:port",
// "v6"); 127.0.0.1 when empty.
func advertiseHost(h string) string {
	if h == "" {
		return "127.0.0.1"
	}
	if host, _, err := net.SplitHostPort(h); err == nil {
		h = host
	}
	h = strings.TrimSuffix(strings.TrimPrefix(h, "["), "]")
	if h == "" {
		return "127.0.0.1"
	}
	return h
}
