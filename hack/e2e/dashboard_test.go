package e2e

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	promclient "github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"proclet.dev/proclet/server"
)

// dashboardQueries are the PromQL expressions of the Grafana dashboard:
// every target's expr, and the selector inside each label_values()
// template query, each with where it is.
func dashboardQueries(t *testing.T, dash []byte) map[string]string {
	t.Helper()
	var d struct {
		Templating struct {
			List []struct {
				Name  string `json:"name"`
				Type  string `json:"type"`
				Query any    `json:"query"`
			} `json:"list"`
		} `json:"templating"`
		Panels []struct {
			Title   string `json:"title"`
			Targets []struct {
				RefID string `json:"refId"`
				Expr  string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(dash, &d); err != nil {
		t.Fatalf("docs/grafana-dashboard.json: %v", err)
	}
	out := map[string]string{}
	labelValues := regexp.MustCompile(`^label_values\((.*),\s*[a-zA-Z_]+\)$`)
	for _, v := range d.Templating.List {
		if v.Type != "query" {
			continue
		}
		q, ok := v.Query.(map[string]any)
		if !ok {
			t.Fatalf("template variable %s: query %v is not an object", v.Name, v.Query)
		}
		s, _ := q["query"].(string)
		m := labelValues.FindStringSubmatch(s)
		if m == nil {
			t.Fatalf("template variable %s: query %q is not label_values(selector, label)", v.Name, s)
		}
		out["variable "+v.Name] = m[1]
	}
	for _, p := range d.Panels {
		for _, tg := range p.Targets {
			out["panel "+p.Title+" "+tg.RefID] = tg.Expr
		}
	}
	return out
}

// grafanaVars are the dashboard's variables and Grafana's own, each with
// a value of its kind: the interval ones a duration, the others a label
// value (they only appear inside quoted matchers).
var grafanaVars = regexp.MustCompile(`\$\{?(__rate_interval|__interval|__range|[a-zA-Z_][a-zA-Z0-9_]*)\}?`)

func substituteVars(expr string) string {
	return grafanaVars.ReplaceAllStringFunc(expr, func(v string) string {
		if strings.HasPrefix(strings.Trim(v, "${"), "__") {
			return "5m"
		}
		return "x"
	})
}

// metricNames are the metric names an expression reads: its identifiers
// once strings, label matchers, durations and grouping lists are taken
// out, but functions (an identifier before "(") and PromQL's keywords.
func metricNames(expr string) []string {
	for _, re := range []string{`"(\\.|[^"\\])*"`, `\{[^}]*\}`, `\[[^\]]*\]`,
		`\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)`} {
		expr = regexp.MustCompile(re).ReplaceAllString(expr, " ")
	}
	keywords := []string{"and", "or", "unless", "bool", "offset", "by", "without", "on", "ignoring", "group_left", "group_right", "inf", "nan"}
	var out []string
	for _, m := range regexp.MustCompile(`[a-zA-Z_:][a-zA-Z0-9_:]*\s*\(?`).FindAllString(expr, -1) {
		name := strings.TrimSpace(m)
		if strings.HasSuffix(name, "(") || slices.Contains(keywords, strings.ToLower(name)) {
			continue
		}
		out = append(out, name)
	}
	return out
}

// knownMetrics are the families the daemon's /metrics has: the proclet
// ones (server.MetricFamilies), the Go and process collectors' (what a
// registry of them gathers here), and up, which Prometheus adds. A
// histogram's _bucket, _sum and _count series count as its family.
func knownMetrics(t *testing.T) map[string]bool {
	t.Helper()
	known := map[string]bool{"up": true}
	for _, f := range server.MetricFamilies {
		known[f.Name] = true
	}
	reg := promclient.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	fams, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fams {
		known[f.GetName()] = true
	}
	return known
}

func isKnown(known map[string]bool, name string) bool {
	if known[name] {
		return true
	}
	for _, suffix := range []string{"_bucket", "_sum", "_count"} {
		if base, ok := strings.CutSuffix(name, suffix); ok && known[base] {
			return true
		}
	}
	return false
}

// TestDashboard_QueriesParseAndExist: every query of the Grafana dashboard
// (its variables substituted) is valid PromQL to promtool, and reads only
// metrics the daemon or Prometheus export.
func TestDashboard_QueriesParseAndExist(t *testing.T) {
	dash, err := os.ReadFile(filepath.Join("..", "..", "docs", "grafana-dashboard.json"))
	if err != nil {
		t.Fatal(err)
	}
	queries := dashboardQueries(t, dash)
	if len(queries) < 10 {
		t.Fatalf("only %d queries found in the dashboard: %v", len(queries), queries)
	}
	known := knownMetrics(t)
	type rule struct {
		Record string `json:"record"`
		Expr   string `json:"expr"`
	}
	var rules []rule
	where := slices.Sorted(func(yield func(string) bool) {
		for k := range queries {
			if !yield(k) {
				return
			}
		}
	})
	for i, w := range where {
		expr := substituteVars(queries[w])
		if strings.Contains(expr, "$") {
			t.Errorf("%s: a variable left in %q", w, expr)
		}
		names := metricNames(expr)
		if len(names) == 0 {
			t.Errorf("%s: %q reads no metric", w, queries[w])
		}
		for _, n := range names {
			if !isKnown(known, n) {
				t.Errorf("%s: %q reads %s, which neither proclet nor Prometheus exports", w, queries[w], n)
			}
		}
		rules = append(rules, rule{Record: "dashboard:query_" + string(rune('a'+i/26)) + string(rune('a'+i%26)), Expr: expr})
	}
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		t.Skip("no promtool: the queries' syntax is not checked")
	}
	body, err := json.Marshal(map[string]any{"groups": []any{map[string]any{"name": "dashboard", "rules": rules}}})
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "dashboard.rules.yml") // JSON is YAML
	if err := os.WriteFile(file, body, 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(promtool, "check", "rules", file).CombinedOutput(); err != nil {
		t.Fatalf("promtool check rules of the dashboard's queries: %v\n%s\nrules: %s", err, out, body)
	}
}

// TestDashboard_MetricNames: the name extraction the dashboard test
// relies on.
func TestDashboard_MetricNames(t *testing.T) {
	for expr, want := range map[string][]string{
		`sum by (app, le) (rate(a_b_bucket{app=~"x",le!="1"}[5m])) * 60`:   {"a_b_bucket"},
		`count((x - y{a="b"}) > 0) or vector(0)`:                           {"x", "y"},
		`histogram_quantile(0.9, m) / on (instance) group_left (v) info_x`: {"m", "info_x"},
		`process_resident_memory_bytes / 2^20`:                             {"process_resident_memory_bytes"},
	} {
		if got := metricNames(expr); !slices.Equal(got, want) {
			t.Errorf("metricNames(%q) = %v, want %v", expr, got, want)
		}
	}
}

// TestDashboard_DaemonsAndAxes: the dashboard picks the daemons by job and
// instance (template variables every query filters on), and never draws
// CPU and memory in one panel (one axis for cores and bytes).
func TestDashboard_DaemonsAndAxes(t *testing.T) {
	dash, err := os.ReadFile(filepath.Join("..", "..", "docs", "grafana-dashboard.json"))
	if err != nil {
		t.Fatal(err)
	}
	queries := dashboardQueries(t, dash)
	for _, v := range []string{"variable job", "variable instance"} {
		if _, ok := queries[v]; !ok {
			t.Errorf("no %s template variable", strings.TrimPrefix(v, "variable "))
		}
	}
	panels := map[string][]string{} // title: the metric names its queries read
	for w, q := range queries {
		if title, ok := strings.CutPrefix(w, "panel "); ok {
			title = title[:strings.LastIndexByte(title, ' ')]
			panels[title] = append(panels[title], metricNames(substituteVars(q))...)
			if !strings.Contains(q, `instance=~"$instance"`) {
				t.Errorf("%s: %q does not filter on $instance", w, q)
			}
		}
	}
	for title, names := range panels {
		cpu := slices.ContainsFunc(names, func(n string) bool { return strings.Contains(n, "cpu") })
		mem := slices.ContainsFunc(names, func(n string) bool { return strings.Contains(n, "memory") })
		if cpu && mem {
			t.Errorf("panel %q draws CPU and memory on one axis: %v", title, names)
		}
	}
}
