package e2e

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"proclet.dev/proclet/apis/v1alpha1"
	rtexec "proclet.dev/proclet/runtime/exec"
)

var bins struct {
	dir      string
	proclet  string
	workload string
}

func TestMain(m *testing.M) {
	flagShort := false
	for _, a := range os.Args {
		if a == "-test.short=true" || a == "-test.short" {
			flagShort = true
		}
	}
	if flagShort {
		os.Exit(m.Run())
	}
	dir, err := os.MkdirTemp("", "proclet-e2e-bin")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	bins.dir = dir
	bins.proclet = filepath.Join(dir, "proclet")
	bins.workload = filepath.Join(dir, "workload")
	for out, pkg := range map[string]string{bins.proclet: "proclet.dev/proclet/cmd/proclet", bins.workload: "proclet.dev/proclet/hack/workload"} {
		cmd := exec.Command("go", "build", "-o", out, pkg)
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
		if err := cmd.Run(); err != nil {
			fmt.Fprintln(os.Stderr, "build", pkg, err)
			os.Exit(1)
		}
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// daemon is a running bin/proclet.
type daemon struct {
	t         *testing.T
	cmd       *exec.Cmd
	base      string // http://addr
	manifests string
	stateDir  string
	logs      *logBuffer
	exited    chan struct{}
}

type logBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *logBuffer) String() string { l.mu.Lock(); defer l.mu.Unlock(); return l.b.String() }

var addrRE = regexp.MustCompile(`msg="serving the API" addr=(\S+)`)

// startDaemon runs proclet on manifests (a dir the test owns) and waits
// until it serves the API. Cleanup stops it and kills every instance PID
// it ever reported.
func startDaemon(t *testing.T, manifests string, extra ...string) *daemon {
	t.Helper()
	state := t.TempDir()
	return startDaemonOn(t, manifests, state, extra...)
}

func startDaemonOn(t *testing.T, manifests, state string, extra ...string) *daemon {
	t.Helper()
	// The daemon's default output FIFOs' folder is on a tmpfs, outside
	// state: removed last (cleanups run last first), once every instance
	// is gone.
	t.Cleanup(func() { removeRunDir(state) })
	args := append([]string{"run", "--manifests", manifests, "--state-dir", state, "--listen", "127.0.0.1:0", "--log-level", "debug"}, extra...)
	cmd := exec.Command(bins.proclet, args...)
	cmd.Env = append(os.Environ(), "PATH="+bins.dir+":"+os.Getenv("PATH"))
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	d := &daemon{t: t, cmd: cmd, manifests: manifests, stateDir: state, logs: &logBuffer{}, exited: make(chan struct{})}
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			line := sc.Text()
			d.logs.mu.Lock()
			d.logs.b.WriteString(line + "\n")
			d.logs.mu.Unlock()
			if m := addrRE.FindStringSubmatch(line); m != nil {
				select {
				case addr <- m[1]:
				default:
				}
			}
		}
		_ = cmd.Wait()
		close(d.exited)
	}()
	t.Cleanup(func() { d.stop(); d.killInstances() })
	select {
	case a := <-addr:
		d.base = "http://" + a
	case <-d.exited:
		t.Fatalf("daemon exited early:\n%s", d.logs)
	case <-time.After(30 * time.Second):
		t.Fatalf("daemon did not serve within 30s:\n%s", d.logs)
	}
	return d
}

var seenPIDs sync.Map

// stop sends SIGTERM and waits for the daemon to exit.
func (d *daemon) stop() {
	select {
	case <-d.exited:
		return
	default:
	}
	_ = d.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-d.exited:
	case <-time.After(60 * time.Second):
		_ = d.cmd.Process.Kill()
		<-d.exited
		d.t.Errorf("daemon did not stop within 60s of SIGTERM")
	}
}

// killInstances SIGKILLs the process group of every instance PID the test
// saw, so nothing outlives the test even when it failed halfway.
func (d *daemon) killInstances() {
	seenPIDs.Range(func(k, _ any) bool {
		pid := k.(int)
		if alive(pid) {
			_ = syscall.Kill(-pid, syscall.SIGKILL)
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
		return true
	})
}

func (d *daemon) getJSON(path string, v any) (int, error) {
	resp, err := http.Get(d.base + path)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return resp.StatusCode, err
	}
	if resp.StatusCode == http.StatusOK && v != nil {
		return resp.StatusCode, json.Unmarshal(body, v)
	}
	return resp.StatusCode, nil
}

func (d *daemon) instances(app string) []v1alpha1.Instance {
	d.t.Helper()
	var l struct {
		Items []v1alpha1.Instance `json:"items"`
	}
	code, err := d.getJSON("/api/v1/apps/"+app+"/instances", &l)
	if err != nil || (code != 200 && code != 404) {
		d.t.Fatalf("instances of %s: %d %v", app, code, err)
	}
	for _, i := range l.Items {
		if i.PID > 0 {
			seenPIDs.Store(i.PID, true)
		}
	}
	return l.Items
}

// runningPIDs are the PIDs of the running instances at the newest
// revision, by instance name; only those really alive in /proc count.
func (d *daemon) runningPIDs(app string) map[string]int {
	out := map[string]int{}
	for _, i := range d.instances(app) {
		if i.Phase == v1alpha1.PhaseRunning && i.PID > 0 && alive(i.PID) {
			out[i.Name] = i.PID
		}
	}
	return out
}

// eventually polls cond until it holds or the deadline passes.
func eventually(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not within %s: %s", within, what)
		}
		time.Sleep(10 * time.Millisecond) // polling interval, not a wait for an event
	}
}

func alive(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	// A zombie has exited; state is the field after the command's ")".
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i > 0 && i+2 < len(s) && s[i+2] != 'Z'
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

func appManifest(name string, replicas int, args ...string) string {
	cmd := []string{bins.workload}
	cmd = append(cmd, args...)
	q := make([]string, len(cmd))
	for i, c := range cmd {
		q[i] = fmt.Sprintf("%q", c)
	}
	return fmt.Sprintf(`apiVersion: proclet.dev/v1alpha1
kind: App
metadata:
  name: %s
spec:
  replicas: %d
  command: [%s]
  terminationGracePeriodSeconds: 5
`, name, replicas, strings.Join(q, ", "))
}

// removeRunDir removes the tmpfs folder of the output FIFOs a daemon on
// state used by default (rtexec.TmpfsRunDir), if any.
func removeRunDir(state string) {
	if dir := rtexec.TmpfsRunDir(state); dir != "" {
		os.RemoveAll(dir)
	}
}
