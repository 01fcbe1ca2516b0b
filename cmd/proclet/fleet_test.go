package main

import (
	"context"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"proclet.dev/proclet/apis/v1alpha1"
	"proclet.dev/proclet/server/client"
)

// hostOf is a test server's host:port, as --servers takes it.
func hostOf(url string) string { return strings.TrimPrefix(url, "http://") }

// deadHost is a loopback address nothing listens on.
func deadHost(t *testing.T) string {
	t.Helper()
	s := httptest.NewServer(http.NotFoundHandler())
	s.Close()
	return hostOf(s.URL)
}

// hangingHost answers nothing until the client leaves.
func hangingHost(t *testing.T) string {
	t.Helper()
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() }))
	t.Cleanup(s.Close)
	return hostOf(s.URL)
}

func TestFleetGet_OneTableWithNodeColumn(t *testing.T) {
	started := time.Now().Add(-3 * time.Hour)
	named := &cliFakeAPI{node: "alpha", apps: []v1alpha1.App{cliApp("web", 1, 1)},
		instances: []v1alpha1.Instance{cliInstance("web", 0, started)}}
	old := &cliFakeAPI{apps: []v1alpha1.App{cliApp("web", 2, 2), cliApp("api", 1, 0)},
		instances: []v1alpha1.Instance{cliInstance("web", 0, started), cliInstance("web", 1, started)}}
	a, b, dead := hostOf(named.start(t)), hostOf(old.start(t)), deadHost(t)

	code, out, errOut := cliRun("get", "apps", "--servers", a+","+b+","+dead)
	want := fmt.Sprintf("NODE%s   NAME   READY   UP-TO-DATE   AVAILABLE   AGE\n", strings.Repeat(" ", len(b)-4)) +
		fmt.Sprintf("alpha%s   web    1/1     1            1           3h\n", strings.Repeat(" ", len(b)-5)) +
		b + "   web    2/2     2            2           3h\n" +
		b + "   api    0/1     1            0           -\n"
	if code != 1 || out != want {
		t.Errorf("code %d, stdout\n%s\nwant\n%s", code, out, want)
	}
	wantErr := "proclet get: " + dead + ": cannot reach proclet at http://" + dead + ": "
	if !strings.HasPrefix(errOut, wantErr) || !strings.Contains(errOut, "connection refused") || strings.Contains(errOut, "--server ") ||
		!strings.HasSuffix(errOut, "proclet get: 1 of 3 hosts did not answer\n") {
		t.Errorf("stderr %q, want %q", errOut, wantErr)
	}

	code, out, _ = cliRun("get", "instances", "web", "-o", "json", "--servers", a+","+b)
	var l struct {
		Items []struct {
			Node string `json:"node"`
			Name string `json:"name"`
		} `json:"items"`
	}
	if code != 0 || json.Unmarshal([]byte(out), &l) != nil || len(l.Items) != 3 ||
		l.Items[0] != (struct {
			Node string `json:"node"`
			Name string `json:"name"`
		}{"alpha", "web-0"}) || l.Items[2].Node != b || l.Items[2].Name != "web-1" {
		t.Errorf("-o json: code %d\n%s", code, out)
	}
	if !strings.HasPrefix(out, "{\n  \"items\": [\n    {\n      \"node\": \"alpha\",\n") {
		t.Errorf("node is not each item's first field:\n%s", out)
	}

	// An app one host does not have: its rows only, exit 0.
	code, out, errOut = cliRun("get", "apps", "api", "-o", "name", "--servers", a+","+b)
	if code != 0 || out != b+" app/api\n" || errOut != "" {
		t.Errorf("-o name of api: code %d, %q, %q", code, out, errOut)
	}
	t.Setenv("PROCLET_SERVERS", a)
	code, out, _ = cliRun("get", "apps", "-o", "name")
	if code != 0 || out != "alpha app/web\n" {
		t.Errorf("PROCLET_SERVERS: code %d, %q", code, out)
	}
	code, _, errOut = cliRun("get", "apps", "-w")
	if code != 2 || !strings.Contains(errOut, "not with --servers") {
		t.Errorf("-w with --servers: code %d, %q", code, errOut)
	}
	code, _, errOut = cliRun("get", "apps", "--server", "http://"+b)
	if code != 2 || !strings.Contains(errOut, "--server and --servers") {
		t.Errorf("--server and --servers: code %d, %q", code, errOut)
	}
}

func TestFleetGet_HostTimeoutMarksTheHostAndKeepsTheOthers(t *testing.T) {
	ok := &cliFakeAPI{apps: []v1alpha1.App{cliApp("web", 1, 1)}}
	a, hung := hostOf(ok.start(t)), hangingHost(t)
	start := time.Now()
	code, out, errOut := cliRun("get", "apps", "--servers", hung+","+a, "--host-timeout", "300ms")
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("took %s with a 300ms host timeout", took)
	}
	if code != 1 || !strings.Contains(out, a+"   web ") {
		t.Errorf("code %d, stdout\n%s", code, out)
	}
	if !strings.Contains(errOut, "proclet get: "+hung+": no answer within 300ms (--host-timeout)\n") {
		t.Errorf("stderr %q", errOut)
	}
}

func TestFleet_AsksAtMostParallelHostsAtOnce(t *testing.T) {
	var now, peak atomic.Int32
	var hosts []string
	for range 12 {
		s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			n := now.Add(1)
			defer now.Add(-1)
			for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
			}
			time.Sleep(20 * time.Millisecond) // hold the request so that overlaps show
			if r.URL.Path == "/api/v1/apps" {
				_, _ = w.Write([]byte(`{"items":[]}`))
				return
			}
			http.NotFound(w, r)
		}))
		t.Cleanup(s.Close)
		hosts = append(hosts, hostOf(s.URL))
	}
	code, _, errOut := cliRun("get", "apps", "-o", "json", "--parallel", "3", "--servers", strings.Join(hosts, ","))
	if code != 0 {
		t.Fatalf("code %d: %s", code, errOut)
	}
	if p := peak.Load(); p > 3 || p < 2 {
		t.Errorf("%d requests at once with --parallel 3", p)
	}
	for _, bad := range [][]string{{"--parallel", "0"}, {"--parallel", "1025"}, {"--host-timeout", "0s"}} {
		code, _, errOut = cliRun("get", append([]string{"apps", "--servers", hosts[0]}, bad...)...)
		if code != 2 {
			t.Errorf("%v: code %d, %q", bad, code, errOut)
		}
	}
}

func TestParseServers(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "hosts.txt")
	if err := os.WriteFile(file, []byte("# the canary ring\nh1:9090\n  h2:9090  # second\n\nh1:9090\nh3:9090 h4:9090\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := parseServers("@" + file)
	if err != nil || strings.Join(got, ",") != "h1:9090,h2:9090,h3:9090,h4:9090" {
		t.Errorf("@file: %v %v", got, err)
	}
	got, err = parseServers(" h1:9090, ,h2:9090,h1:9090 ")
	if err != nil || strings.Join(got, ",") != "h1:9090,h2:9090" {
		t.Errorf("list: %v %v", got, err)
	}
	many := make([]string, maxFleetHosts+1)
	for i := range many {
		many[i] = fmt.Sprintf("h%d", i)
	}
	if _, err := parseServers(strings.Join(many[:maxFleetHosts], ",")); err != nil {
		t.Errorf("%d hosts: %v", maxFleetHosts, err)
	}
	big := filepath.Join(dir, "big.txt")
	if err := os.WriteFile(big, []byte(strings.Join(many, "\n")), 0o644); err != nil {
		t.Fatal(err)
	}
	huge := filepath.Join(dir, "huge.txt")
	if err := os.WriteFile(huge, []byte("h1\n# "+strings.Repeat("x", maxHostsFile)), 0o644); err != nil {
		t.Fatal(err)
	}
	for in, want := range map[string]string{
		strings.Join(many, ","):           "more than 10000 hosts",
		"@" + big:                         "--servers @" + big + ": more than 10000 hosts",
		"@" + huge:                        "larger than 1048576 bytes",
		"@" + filepath.Join(dir, "none"):  "no such file",
		",,":                              "--servers: no host",
		strings.Repeat("h", maxHostLen+1): "a host of 513 bytes: at most 512",
	} {
		if _, err := parseServers(in); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%.40q: %v, want %q", in, err, want)
		}
	}
}

func TestFleet_AnswerLargerThanTheBoundFailsThatHost(t *testing.T) {
	big := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/api/v1/apps" {
			http.NotFound(w, r)
			return
		}
		_, _ = w.Write([]byte(`{"items":[` + strings.Repeat(`{},`, 1000) + `{}]}`))
	}))
	t.Cleanup(big.Close)
	f := &fleet{hosts: []string{hostOf(big.URL)}, parallel: 1, timeout: 5 * time.Second, maxAnswer: 1000, names: map[string]string{}}
	answers := fanOut(context.Background(), f, func(ctx context.Context, c *client.Client) ([]v1alpha1.App, error) {
		return c.Apps(ctx)
	})
	if err := answers[0].err; err == nil || !strings.Contains(err.Error(), "larger than 1000 bytes") {
		t.Errorf("err = %v", err)
	}
	f.maxAnswer = 1 << 20
	answers = fanOut(context.Background(), f, func(ctx context.Context, c *client.Client) ([]v1alpha1.App, error) {
		return c.Apps(ctx)
	})
	if answers[0].err != nil || len(answers[0].val) != 1001 {
		t.Errorf("within the bound: %d apps, %v", len(answers[0].val), answers[0].err)
	}
}

func TestFleetTargets_OneFileSDWithNodeLabels(t *testing.T) {
	a := &cliFakeAPI{node: "alpha", targets: []client.TargetGroup{{Targets: []string{"10.0.0.1:8000"}, Labels: map[string]string{"app": "web", "replica": "web-0"}}}}
	b := &cliFakeAPI{targets: []client.TargetGroup{{Targets: []string{"127.0.0.1:8001"}, Labels: map[string]string{"app": "web", "node": "theirs"}}}}
	ha, hb := hostOf(a.start(t)), hostOf(b.start(t))
	code, out, errOut := cliRun("fleet", "targets", "--servers", ha+","+hb)
	var groups []client.TargetGroup
	if code != 0 || json.Unmarshal([]byte(out), &groups) != nil || len(groups) != 2 {
		t.Fatalf("code %d, %s %s", code, out, errOut)
	}
	if groups[0].Labels["node"] != "alpha" || groups[0].Labels["replica"] != "web-0" || groups[0].Targets[0] != "10.0.0.1:8000" {
		t.Errorf("first group %+v", groups[0])
	}
	if groups[1].Labels["node"] != "theirs" {
		t.Errorf("a daemon's own node label was overwritten: %+v", groups[1])
	}
	code, out, _ = cliRun("fleet", "targets", "--servers", deadHost(t))
	if code != 1 || out != "[]\n" {
		t.Errorf("no daemon answered: code %d, %q", code, out)
	}
	code, _, errOut = cliRun("fleet", "targets")
	if code != 2 || !strings.Contains(errOut, "--servers") {
		t.Errorf("without --servers: code %d, %q", code, errOut)
	}
}

func TestFleetDescribeAndLogs(t *testing.T) {
	a := &cliFakeAPI{node: "alpha", apps: []v1alpha1.App{cliApp("web", 1, 1)},
		instances: []v1alpha1.Instance{cliInstance("web", 0, time.Now())}, logs: map[string]string{"web-0": "one\ntwo"}}
	b := &cliFakeAPI{node: "beta"}
	ha, hb := hostOf(a.start(t)), hostOf(b.start(t))
	code, out, errOut := cliRun("describe", "web", "--servers", hb+","+ha)
	if code != 0 || !strings.HasPrefix(out, "Node:             alpha\nName:             web\n") || strings.Contains(out, "beta") {
		t.Errorf("describe: code %d, %q\n%s", code, errOut, out)
	}
	code, _, errOut = cliRun("describe", "nope", "--servers", ha+","+hb)
	if code != 1 || !strings.Contains(errOut, `app "nope" not found on any of the 2 hosts`) {
		t.Errorf("describe nope: code %d, %q", code, errOut)
	}
	code, out, errOut = cliRun("logs", "web", "--servers", hb+","+ha)
	if code != 0 || out != "[alpha] [web-0] one\n[alpha] [web-0] two\n" {
		t.Errorf("logs: code %d, %q, %q", code, out, errOut)
	}
	code, out, _ = cliRun("logs", "web/web-0", "--servers", ha)
	if code != 0 || out != "[alpha] one\n[alpha] two\n" {
		t.Errorf("logs of one instance: code %d, %q", code, out)
	}
}

func TestFleetLogs_OneHostsOutputIsCutAtTheBound(t *testing.T) {
	line := strings.Repeat("x", 1023) + "\n"
	a := &cliFakeAPI{node: "alpha", apps: []v1alpha1.App{cliApp("web", 1, 1)},
		instances: []v1alpha1.Instance{cliInstance("web", 0, time.Now())},
		logs:      map[string]string{"web-0": strings.Repeat(line, maxFleetLogBytes/1024+100)}}
	code, out, errOut := cliRun("logs", "web", "--servers", hostOf(a.start(t)))
	if code != 1 || len(out) > maxFleetLogBytes || len(out) < maxFleetLogBytes/2 || !strings.HasPrefix(out, "[alpha] [web-0] xxx") {
		t.Errorf("code %d, %d bytes of output", code, len(out))
	}
	if !strings.Contains(errOut, "more than 4194304 bytes of output") {
		t.Errorf("stderr %q", errOut)
	}
}

func TestFleetGetEvents_MergedOldestFirst(t *testing.T) {
	t0 := time.Now().Add(-time.Hour)
	host := func(evs ...v1alpha1.Event) string {
		s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path != "/api/v1/events" {
				http.NotFound(w, r)
				return
			}
			_ = json.NewEncoder(w).Encode(map[string]any{"items": evs}) // newest first, as the API
		}))
		t.Cleanup(s.Close)
		return hostOf(s.URL)
	}
	ev := func(min int, reason string) v1alpha1.Event {
		return v1alpha1.Event{Time: t0.Add(time.Duration(min) * time.Minute), Type: "Normal", Reason: reason, Object: "web"}
	}
	a := host(ev(30, "A3"), ev(10, "A1"))
	b := host(ev(20, "B2"))
	code, out, errOut := cliRun("get", "events", "--servers", a+","+b)
	var reasons []string
	for _, l := range strings.Split(strings.TrimSpace(out), "\n")[1:] {
		reasons = append(reasons, strings.Fields(l)[3])
	}
	if code != 0 || strings.Join(reasons, ",") != "A1,B2,A3" || !strings.HasPrefix(out, "NODE") {
		t.Errorf("code %d, %q\n%s", code, errOut, out)
	}
}

func TestFleet_HTTPSDaemonsCheckedAgainstCACert(t *testing.T) {
	s := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/api/v1/node":
			_, _ = w.Write([]byte(`{"name":"secure"}`))
		case "/api/v1/targets":
			_, _ = w.Write([]byte(`[{"targets":["10.0.0.9:80"],"labels":{"app":"web"}}]`))
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(s.Close)
	ca := filepath.Join(t.TempDir(), "ca.pem")
	pemBytes := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: s.Certificate().Raw})
	if err := os.WriteFile(ca, pemBytes, 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := cliRun("fleet", "targets", "--servers", s.URL, "--cacert", ca)
	if code != 0 || !strings.Contains(out, `"node": "secure"`) {
		t.Fatalf("with --cacert: code %d, %s %s", code, out, errOut)
	}
	code, _, errOut = cliRun("get", "apps", "--servers", s.URL)
	if code == 0 || !strings.Contains(errOut, "certificate") {
		t.Errorf("without --cacert the daemon's certificate must be refused: code %d, %s", code, errOut)
	}
}
