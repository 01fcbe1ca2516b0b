package e2e

import (
	"bufio"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"proclet.dev/proclet/apis/v1alpha1"
)

// socketManifest is 3 replicas serving on one inherited socket, rolled
// with a surge; marker changes the command (a new revision).
func socketManifest(port int32, marker string) string {
	return fmt.Sprintf(`apiVersion: proclet.dev/v1alpha1
kind: App
metadata:
  name: web
spec:
  replicas: 3
  command: [%q, "--socket", "http", "--exit-code", %q]
  sockets:
    - {name: http, port: %d, host: 127.0.0.1}
  terminationGracePeriodSeconds: 10
  minReadySeconds: 1
  strategy:
    rollingUpdate: {maxSurge: 1, maxUnavailable: 0}
`, bins.workload, marker, port)
}

// listenInodes are the inodes of the TCP sockets listening on port
// (/proc/net/tcp: state 0A, the inode in column 10).
func listenInodes(t *testing.T, port int32) []string {
	t.Helper()
	f, err := os.Open("/proc/net/tcp")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	want := fmt.Sprintf(":%04X", port)
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fl := strings.Fields(sc.Text())
		if len(fl) > 9 && strings.HasSuffix(fl[1], want) && fl[3] == "0A" {
			out = append(out, fl[9])
		}
	}
	return out
}

// clientLoop requests the socket's port until stop, one connection per
// request, and counts the failures.
type clientLoop struct {
	requests, failures atomic.Int64
	first              atomic.Value
	stop               chan struct{}
	wg                 sync.WaitGroup
	pids               sync.Map // pids that answered
}

func startClients(port int32, n int) *clientLoop {
	c := &clientLoop{stop: make(chan struct{})}
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	url := fmt.Sprintf("http://127.0.0.1:%d/", port)
	for range n {
		c.wg.Go(func() {
			for {
				select {
				case <-c.stop:
					return
				default:
				}
				resp, err := client.Get(url)
				c.requests.Add(1)
				if err == nil {
					var b strings.Builder
					_, err = bufio.NewReader(resp.Body).WriteTo(&b)
					resp.Body.Close()
					if err == nil && resp.StatusCode != 200 {
						err = fmt.Errorf("HTTP %d", resp.StatusCode)
					}
					if _, pid, ok := strings.Cut(strings.TrimSpace(b.String()), "pid="); ok {
						c.pids.Store(pid, true)
					}
				}
				if err != nil {
					c.failures.Add(1)
					c.first.CompareAndSwap(nil, err.Error())
				}
			}
		})
	}
	return c
}

// warm waits until the clients have made some requests.
func (c *clientLoop) warm(t *testing.T) {
	eventually(t, 10*time.Second, "50 requests", func() bool { return c.requests.Load() >= 50 })
}

func (c *clientLoop) end(t *testing.T) {
	t.Helper()
	close(c.stop)
	c.wg.Wait()
	if c.failures.Load() > 0 {
		t.Fatalf("%d of %d requests failed; first: %v", c.failures.Load(), c.requests.Load(), c.first.Load())
	}
	if c.requests.Load() < 100 {
		t.Fatalf("only %d requests: the test did not test much", c.requests.Load())
	}
	t.Logf("%d requests, none failed", c.requests.Load())
}

// rolledOut waits until web runs 3 instances, all of a revision other
// than old, and returns it.
func rolledOut(t *testing.T, d *daemon, old string) {
	t.Helper()
	eventually(t, 60*time.Second, "three running instances of the new revision", func() bool {
		insts := d.instances("web")
		if len(insts) != 3 {
			return false
		}
		for _, i := range insts {
			if i.Revision == old || i.Phase != "Running" || !alive(i.PID) {
				return false
			}
		}
		return true
	})
}

// threeAvailable waits until web's 3 instances are available (ready for
// minReadySeconds: a rollout stops at once an old instance that is not)
// and returns their revision.
func threeAvailable(t *testing.T, d *daemon) (revision string) {
	t.Helper()
	eventually(t, 15*time.Second, "three available instances", func() bool {
		var a v1alpha1.App
		if code, err := d.getJSON("/api/v1/apps/web", &a); code != 200 || err != nil || a.Status == nil {
			return false
		}
		revision = a.Status.Revision
		return a.Status.AvailableReplicas == 3 && len(d.instances("web")) == 3
	})
	return revision
}

// TestSocketRollout rolls 3 replicas sharing one socket (a command
// change) under a client loop: the rollout surges on the fixed port and
// not one request fails; the listening socket is the same one throughout.
func TestSocketRollout(t *testing.T) {
	skipShort(t)
	dir := t.TempDir()
	port := int32(freePort(t))
	file := filepath.Join(dir, "web.yaml")
	writeFile(t, file, socketManifest(port, "1"))
	d := startDaemon(t, dir)
	old := threeAvailable(t, d)
	before := listenInodes(t, port)
	if len(before) != 1 {
		t.Fatalf("listening sockets on %d: %v, want one", port, before)
	}
	c := startClients(port, 4)
	c.warm(t)
	writeFile(t, file, socketManifest(port, "2"))
	t0 := time.Now()
	surged := false
	eventually(t, 60*time.Second, "the rollout, with a surge", func() bool {
		insts := d.instances("web")
		running := 0
		for _, i := range insts {
			if i.Phase == "Running" {
				running++
			}
		}
		surged = surged || running > 3
		done := len(insts) == 3
		for _, i := range insts {
			done = done && i.Revision != old && i.Phase == "Running"
		}
		return done
	})
	t.Logf("rolled in %s", time.Since(t0))
	c.end(t)
	if !surged {
		t.Error("the rollout never ran 4 instances: a socket must not force stop-then-start")
	}
	if after := listenInodes(t, port); len(after) != 1 || after[0] != before[0] {
		t.Fatalf("listening socket on %d was %v, now %v: want the same one", port, before, after)
	}
}

// TestSocketRolloutAcrossKill9 kills the daemon with -9 in the middle of
// the rollout and starts a new one on the same state dir: it takes the
// socket back from the adopted instances and finishes the rollout; not
// one request fails, and the listening socket is the same one.
func TestSocketRolloutAcrossKill9(t *testing.T) {
	skipShort(t)
	dir, state := t.TempDir(), t.TempDir()
	port := int32(freePort(t))
	file := filepath.Join(dir, "web.yaml")
	writeFile(t, file, socketManifest(port, "1"))
	d := startDaemonOn(t, dir, state)
	old := threeAvailable(t, d)
	before := listenInodes(t, port)
	c := startClients(port, 4)
	c.warm(t)
	writeFile(t, file, socketManifest(port, "2"))
	var uid string
	eventually(t, 30*time.Second, "a new instance, mid-rollout", func() bool {
		for _, i := range d.instances("web") {
			if i.Revision != old && i.Phase == "Running" {
				uid = i.UID
				return true
			}
		}
		return false
	})
	eventually(t, 5*time.Second, "instances.json records the new instance and its socket's fd", func() bool {
		data, _ := os.ReadFile(filepath.Join(state, "instances.json"))
		return strings.Contains(string(data), uid) && strings.Contains(string(data), `"listenFDs":{"http":3}`)
	})
	if err := d.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	<-d.exited
	d2 := startDaemonOn(t, dir, state)
	if !strings.Contains(d2.logs.String(), "adopted instance") {
		t.Fatalf("the new daemon adopted nothing:\n%s", d2.logs)
	}
	rolledOut(t, d2, old)
	c.end(t)
	if strings.Contains(d2.logs.String(), "cannot take back a socket") {
		t.Fatalf("the new daemon did not take the socket back:\n%s", d2.logs)
	}
	if after := listenInodes(t, port); len(after) != 1 || after[0] != before[0] {
		t.Fatalf("listening socket on %d was %v, now %v: want the one taken back", port, before, after)
	}
	for _, i := range d2.instances("web") {
		if _, ok := c.pids.Load(strconv.Itoa(i.PID)); ok {
			return
		}
	}
	t.Fatal("no instance of the new revision answered")
}

// TestSocketPortConflict: an app whose fixed port, or whose socket, is
// the port of a running app's socket is refused naming the field; the
// running app keeps its instances and its port keeps answering.
func TestSocketPortConflict(t *testing.T) {
	skipShort(t)
	dir := t.TempDir()
	port := int32(freePort(t))
	writeFile(t, filepath.Join(dir, "web.yaml"), socketManifest(port, "1"))
	d := startDaemon(t, dir)
	threeAvailable(t, d)
	pids := d.runningPIDs("web")
	writeFile(t, filepath.Join(dir, "api.yaml"), fmt.Sprintf(`apiVersion: proclet.dev/v1alpha1
kind: App
metadata: {name: api}
spec:
  command: [%q, "--port=", "--exit-code", "0"]
  ports: [{name: http, port: %d}]
`, bins.workload, port))
	writeFile(t, filepath.Join(dir, "zzz.yaml"), fmt.Sprintf(`apiVersion: proclet.dev/v1alpha1
kind: App
metadata: {name: zzz}
spec:
  command: [%q, "--socket", "http"]
  sockets: [{name: http, port: %d}]
`, bins.workload, port))
	want := map[string]string{
		"api.yaml": fmt.Sprintf(`spec.ports[0] PortConflict port %d (http) is already claimed by app "web"`, port),
		"zzz.yaml": fmt.Sprintf(`spec.sockets[0].port PortConflict port %d (socket http) is already claimed by app "web"`, port),
	}
	eventually(t, 15*time.Second, "both newcomers refused, naming the field", func() bool {
		var l struct {
			Items []struct {
				Path  string `json:"path"`
				Error *struct {
					Field, Reason, Message string
				} `json:"error"`
			} `json:"items"`
		}
		if _, err := d.getJSON("/api/v1/manifests", &l); err != nil {
			return false
		}
		got := 0
		for _, m := range l.Items {
			if e := m.Error; e != nil && want[m.Path] == e.Field+" "+e.Reason+" "+e.Message {
				got++
			}
		}
		return got == 2
	})
	if len(d.instances("api")) != 0 || len(d.instances("zzz")) != 0 {
		t.Fatalf("a refused app runs: api %+v, zzz %+v", d.instances("api"), d.instances("zzz"))
	}
	after := d.runningPIDs("web")
	for name, pid := range pids {
		if after[name] != pid {
			t.Fatalf("web's instances changed: %v, then %v", pids, after)
		}
	}
	resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/", port))
	if err != nil {
		t.Fatalf("web's socket: %v", err)
	}
	resp.Body.Close()
}
