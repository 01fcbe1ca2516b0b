package e2e

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"proclet.dev/proclet/server"
)

// contractMetrics are the metric names of docs/metrics.md, from the one
// list of them (server.MetricFamilies): each must exist from the first
// scrape of a daemon running apps (probe metrics: an app with a probe).
var contractMetrics = func() []string {
	var out []string
	for _, f := range server.MetricFamilies {
		out = append(out, f.Name)
	}
	return out
}()

var metricNameRE = regexp.MustCompile(`proclet_[a-z_]+`)

// freePort returns a loopback TCP port that was free a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	// Below the kernel's ephemeral range (32768-60999 by default): a port
	// from there (port 0) can be taken by any outgoing connection of the
	// other tests between this check and the daemon's or instance's bind.
	for range 200 {
		p := 22768 + rand.IntN(10000)
		if l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(p)); err == nil {
			l.Close()
			return p
		}
	}
	t.Fatal("no free port in 22768-32767")
	return 0
}

// servingManifest is an app of one workload instance serving HTTP on a
// fixed port, with a readiness probe on it when probe is set.
func servingManifest(name string, port int, probe bool) string {
	m := fmt.Sprintf(`apiVersion: proclet.dev/v1alpha1
kind: App
metadata:
  name: %s
  labels: {tier: e2e}
spec:
  replicas: 1
  command: [%q]
  ports: [{name: http, port: %d}]
  terminationGracePeriodSeconds: 5
`, name, bins.workload, port)
	if probe {
		m += "  readinessProbe:\n    httpGet: {path: /healthz, port: http}\n    periodSeconds: 1\n"
	}
	return m
}

// scrape is one GET /metrics: the family names, and every series line.
type scrape struct {
	families map[string]bool
	series   []string
}

func (d *daemon) scrape() (scrape, error) {
	s := scrape{families: map[string]bool{}}
	resp, err := http.Get(d.base + "/metrics")
	if err != nil {
		return s, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		return s, fmt.Errorf("GET /metrics: %s", resp.Status)
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if f, ok := strings.CutPrefix(line, "# TYPE "); ok {
			s.families[strings.Fields(f)[0]] = true
		} else if line != "" && line[0] != '#' {
			s.series = append(s.series, line)
		}
	}
	return s, sc.Err()
}

// has reports whether a series line of family name carries all the
// label pairs (`app="web"`).
func (s scrape) has(name string, labels ...string) bool {
	for _, l := range s.series {
		if !strings.HasPrefix(l, name+"{") {
			continue
		}
		if !slices.ContainsFunc(labels, func(p string) bool { return !strings.Contains(l, p) }) {
			return true
		}
	}
	return false
}

// value is the value of the first series of family name with the labels.
func (s scrape) value(name string, labels ...string) (float64, bool) {
	for _, l := range s.series {
		if !strings.HasPrefix(l, name+"{") || slices.ContainsFunc(labels, func(p string) bool { return !strings.Contains(l, p) }) {
			continue
		}
		f := strings.Fields(l[strings.LastIndexByte(l, '}')+1:])
		if len(f) == 0 {
			return 0, false
		}
		v, err := strconv.ParseFloat(f[0], 64)
		return v, err == nil
	}
	return 0, false
}

// TestMetrics_Contract scrapes a daemon running a few instances: every
// metric name of docs/metrics.md is there from the first scrape, no series has a
// label Prometheus owns or a pid, every name is documented in
// docs/metrics.md, and a removed app's series go with it.
func TestMetrics_Contract(t *testing.T) {
	skipShort(t)
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "web.yaml"), servingManifest("web", freePort(t), true))
	writeFile(t, filepath.Join(dir, "api.yaml"), servingManifest("api", freePort(t), false))
	// A Job that completes and a CronJob with a next slot: the job series
	// exist for them (a daemon without jobs has none).
	writeFile(t, filepath.Join(dir, "once.yaml"), fmt.Sprintf(`apiVersion: proclet.dev/v1alpha1
kind: Job
metadata: {name: once}
spec: {command: [%q, --exit-after, 0s]}
`, bins.workload))
	writeFile(t, filepath.Join(dir, "nightly.yaml"), fmt.Sprintf(`apiVersion: proclet.dev/v1alpha1
kind: CronJob
metadata: {name: nightly}
spec: {schedule: "0 3 * * *", jobTemplate: {spec: {command: [%q, --exit-after, 0s]}}}
`, bins.workload))
	d := startDaemon(t, dir, "--sample-interval", "200ms")
	eventually(t, 10*time.Second, "web and api running, once complete", func() bool {
		return len(d.runningPIDs("web")) == 1 && len(d.runningPIDs("api")) == 1 && jobComplete(d.job("once"))
	})
	eventually(t, 10*time.Second, "the daemon ready", func() bool {
		code, _ := d.getJSON("/readyz", nil)
		return code == 200
	})

	s, err := d.scrape()
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range contractMetrics {
		if !s.families[name] {
			t.Errorf("%s is not in the first scrape", name)
		}
	}
	for _, want := range []string{"go_goroutines", "process_resident_memory_bytes"} {
		if !s.families[want] {
			t.Errorf("the standard collector's %s is missing", want)
		}
	}
	for _, l := range s.series {
		if !strings.HasPrefix(l, "proclet_") {
			continue
		}
		for _, bad := range []string{`pid="`, `instance="`, `job="`} {
			if strings.Contains(l, "{"+bad) || strings.Contains(l, ","+bad) {
				t.Errorf("series with a %s label: %s", strings.TrimSuffix(bad, `="`), l)
			}
		}
	}
	doc, err := os.ReadFile(filepath.Join("..", "..", "docs", "metrics.md"))
	if err != nil {
		t.Fatal(err)
	}
	for name := range s.families {
		if strings.HasPrefix(name, "proclet_") && !strings.Contains(string(doc), "`"+name+"`") {
			t.Errorf("docs/metrics.md does not document %s", name)
		}
	}

	// The Grafana dashboard queries only metrics that exist.
	dash, err := os.ReadFile(filepath.Join("..", "..", "docs", "grafana-dashboard.json"))
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range metricNameRE.FindAllString(string(dash), -1) {
		base := strings.TrimSuffix(strings.TrimSuffix(strings.TrimSuffix(name, "_bucket"), "_sum"), "_count")
		if !slices.Contains(contractMetrics, base) {
			t.Errorf("docs/grafana-dashboard.json queries %s, which proclet does not export", name)
		}
	}

	// Usage is sampled: web's tree has some memory and listens on its port.
	eventually(t, 10*time.Second, "web's memory sampled", func() bool {
		s, err = d.scrape()
		v, ok := s.value("proclet_instance_memory_rss_bytes", `app="web"`, `replica="web-0"`)
		return err == nil && ok && v > 0
	})

	if err := os.Remove(filepath.Join(dir, "web.yaml")); err != nil {
		t.Fatal(err)
	}
	eventually(t, 15*time.Second, "web's series gone", func() bool {
		s, err = d.scrape()
		if err != nil {
			return false
		}
		for _, l := range s.series {
			if strings.Contains(l, `app="web"`) {
				return false
			}
		}
		return s.has("proclet_instance_up", `app="api"`, `replica="api-0"`)
	})
}

// prometheusBinary finds Debian's prometheus, or skips (fails under CI).
func prometheusBinary(t *testing.T) string {
	t.Helper()
	path, err := exec.LookPath("prometheus")
	if err == nil {
		return path
	}
	if os.Getenv("CI") != "" {
		t.Fatalf("prometheus is not installed, and CI is set: .ci/run must install it (apt-get install prometheus)")
	}
	t.Skip("prometheus not found in PATH: `apt-get install prometheus` to run this test")
	return ""
}

// TestPrometheus_ScrapesAndDiscovers runs a real Prometheus against the
// daemon: it scrapes /metrics and discovers the instances through
// /api/v1/targets (http_sd_configs); its own API must show
// proclet_app_replicas_ready of every app and a discovered target for
// every instance.
func TestPrometheus_ScrapesAndDiscovers(t *testing.T) {
	skipShort(t)
	bin := prometheusBinary(t)
	dir := t.TempDir()
	apps := []string{"alpha", "beta", "gamma"}
	ports := map[string]int{}
	for i, app := range apps {
		ports[app] = freePort(t)
		writeFile(t, filepath.Join(dir, app+".yaml"), servingManifest(app, ports[app], i == 0))
	}
	d := startDaemon(t, dir, "--sample-interval", "1s")
	eventually(t, 30*time.Second, "every app running", func() bool {
		for _, app := range apps {
			if len(d.runningPIDs(app)) != 1 {
				return false
			}
		}
		return true
	})

	prom := startPrometheus(t, bin, strings.TrimPrefix(d.base, "http://"))

	// Prometheus scraped proclet: one ready replica per app.
	eventually(t, 60*time.Second, "proclet_app_replicas_ready of every app in Prometheus", func() bool {
		var r struct {
			Status string `json:"status"`
			Data   struct {
				Result []struct {
					Metric map[string]string `json:"metric"`
					Value  [2]any            `json:"value"`
				} `json:"result"`
			} `json:"data"`
		}
		if err := prom.get("/api/v1/query?query="+url.QueryEscape("proclet_app_replicas_ready"), &r); err != nil || r.Status != "success" {
			return false
		}
		got := map[string]string{}
		for _, s := range r.Data.Result {
			if v, ok := s.Value[1].(string); ok {
				got[s.Metric["app"]] = v
			}
		}
		for _, app := range apps {
			if got[app] != "1" {
				return false
			}
		}
		return true
	})

	// Prometheus discovered every instance through /api/v1/targets, with
	// the labels proclet gives them.
	eventually(t, 60*time.Second, "every instance discovered by Prometheus", func() bool {
		var r struct {
			Data struct {
				ActiveTargets []struct {
					ScrapePool string            `json:"scrapePool"`
					Labels     map[string]string `json:"labels"`
					Health     string            `json:"health"`
				} `json:"activeTargets"`
			} `json:"data"`
		}
		if err := prom.get("/api/v1/targets?state=active", &r); err != nil {
			return false
		}
		found := map[string]bool{}
		proclet := false
		for _, tg := range r.Data.ActiveTargets {
			switch tg.ScrapePool {
			case "proclet":
				proclet = tg.Health == "up"
			case "instances":
				app := tg.Labels["app"]
				if tg.Labels["instance"] == "127.0.0.1:"+strconv.Itoa(ports[app]) && tg.Labels["replica"] == app+"-0" {
					found[app] = true
				}
			}
		}
		return proclet && len(found) == len(apps)
	})
}

// prometheus is a running Prometheus server.
type prometheus struct {
	base string
	logs *logBuffer
}

// startPrometheus writes a config scraping proclet at addr every second
// and discovering its instances through /api/v1/targets, starts
// Prometheus on a free loopback port with its data in a temp dir, and
// waits until it is ready. Cleanup kills it by PID.
func startPrometheus(t *testing.T, bin, addr string) *prometheus {
	t.Helper()
	return startPrometheusWith(t, bin, fmt.Sprintf(`global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: proclet
    static_configs:
      - targets: [%q]
  - job_name: instances
    http_sd_configs:
      - url: http://%s/api/v1/targets
        refresh_interval: 1s
`, addr, addr))
}

// startPrometheusWith starts Prometheus with config on a free loopback
// port, its data in a temp dir, and waits until it is ready. Cleanup
// kills it by PID.
func startPrometheusWith(t *testing.T, bin, config string) *prometheus {
	t.Helper()
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(cfgPath, []byte(config), 0o644); err != nil {
		t.Fatal(err)
	}
	listen := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	cmd := exec.Command(bin, "--config.file="+cfgPath, "--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+listen, "--log.level=warn")
	p := &prometheus{base: "http://" + listen, logs: &logBuffer{}}
	cmd.Stdout, cmd.Stderr = io.Discard, logWriter{p.logs}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-exited
		if t.Failed() {
			t.Logf("prometheus logs:\n%s", p.logs)
		}
	})
	eventually(t, 30*time.Second, "prometheus ready", func() bool {
		select {
		case <-exited:
			t.Fatalf("prometheus exited:\n%s", p.logs)
		default:
		}
		resp, err := http.Get(p.base + "/-/ready")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == 200
	})
	return p
}

func (p *prometheus) get(path string, v any) error {
	resp, err := http.Get(p.base + path)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		return fmt.Errorf("%s: %s", path, resp.Status)
	}
	return json.NewDecoder(resp.Body).Decode(v)
}

// logWriter appends to a logBuffer.
type logWriter struct{ l *logBuffer }

func (w logWriter) Write(b []byte) (int, error) {
	w.l.mu.Lock()
	defer w.l.mu.Unlock()
	return w.l.b.Write(b)
}
