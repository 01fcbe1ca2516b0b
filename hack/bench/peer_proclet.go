package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	rtexec "proclet.dev/proclet/runtime/exec"
)

// procletPeer is the daemon under test, on a folder of manifests: all
// apps go in one multi-document file, written aside and renamed in (one
// inotify event, one consistent read). No command: it watches its folder.
type procletPeer struct {
	ph        *phase
	manifests string
	base      string // http://127.0.0.1:port
	daemon    *child
	client    *http.Client
	written   map[string]string // the manifest files apply wrote, by name, with their content
}

var procletKind = peerKind{
	name: "proclet",
	how:  "manifest file renamed into the watched folder; no command",
	new:  func(ph *phase) peer { return newProclet(ph) },
}

func newProclet(ph *phase) *procletPeer {
	return &procletPeer{ph: ph, manifests: filepath.Join(ph.dir, "manifests"),
		client: &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 4}}}
}

func (p *procletPeer) start(ctx context.Context) error {
	if err := os.MkdirAll(p.manifests, 0o755); err != nil {
		return err
	}
	addr, err := freeAddr()
	if err != nil {
		return err
	}
	p.base = "http://" + addr
	cmd := exec.Command(p.ph.b.proclet, "run", "--manifests", p.manifests, "--state-dir", filepath.Join(p.ph.dir, "state"),
		"--listen", addr, "--log-level", "warn")
	cmd.Stdout, cmd.Stderr = p.ph.log, p.ph.log
	if p.daemon, err = p.ph.r.start(p.ph.name, cmd); err != nil {
		return fmt.Errorf("proclet: %w", err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := p.client.Get(p.base + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-p.daemon.done:
			return fmt.Errorf("proclet exited at start: %v (see %s)", p.daemon.err, p.ph.log.Name())
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(10 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("proclet not ready within 20s (see %s)", p.ph.log.Name())
		}
	}
}

// appsPerFile is how many apps apply puts into one manifest file: 1000
// such apps are ~280 KB, well within the daemon's bound of 1 MiB a file
// (docs/faults.md); 5000 in one file would be refused whole.
const appsPerFile = 1000

// apply writes apps into bench.yaml, then bench-1.yaml … for each further
// thousand (a deploy tool's files: each applies whole), rewriting only the
// files whose content changed and removing those no longer needed. Apps
// keep their order between calls, so an app never moves between files.
func (p *procletPeer) apply(_ context.Context, apps []app) error {
	want := map[string]string{}
	for i := 0; i*appsPerFile < len(apps) || i == 0; i++ {
		var sb strings.Builder
		for _, a := range apps[i*appsPerFile : min(len(apps), (i+1)*appsPerFile)] {
			sb.WriteString(manifest(a))
		}
		want[chunkName(i)] = sb.String()
	}
	if p.written == nil {
		p.written = map[string]string{}
	}
	for i := 0; i < len(want); i++ { // in order: the first file's first app starts first
		name := chunkName(i)
		if p.written[name] == want[name] {
			continue
		}
		if err := writeAtomic(filepath.Join(p.manifests, name), []byte(want[name]), 0o644); err != nil {
			return err
		}
		p.written[name] = want[name]
	}
	for name := range p.written {
		if _, ok := want[name]; !ok {
			if err := p.remove(name); err != nil {
				return err
			}
			delete(p.written, name)
		}
	}
	return nil
}

func chunkName(i int) string {
	if i == 0 {
		return "bench.yaml"
	}
	return fmt.Sprintf("bench-%d.yaml", i)
}

// remove deletes the manifest file name.
func (p *procletPeer) remove(name string) error {
	return os.Remove(filepath.Join(p.manifests, name))
}

func manifest(a app) string {
	q := make([]string, len(a.argv))
	for i, s := range a.argv {
		q[i] = strconv.Quote(s)
	}
	var sb strings.Builder
	fmt.Fprintf(&sb, "---\napiVersion: proclet.dev/v1alpha1\nkind: App\nmetadata:\n  name: %s\nspec:\n", a.name)
	if a.replicas != 0 {
		fmt.Fprintf(&sb, "  replicas: %d\n", max(a.replicas, 0))
	}
	fmt.Fprintf(&sb, "  command: [%s]\n  terminationGracePeriodSeconds: 5\n", strings.Join(q, ", "))
	sb.WriteString(a.extraSpec)
	return sb.String()
}

// stopAll removes every manifest file apply wrote.
func (p *procletPeer) stopAll(context.Context) error {
	for name := range p.written {
		if err := p.remove(name); err != nil {
			return err
		}
		delete(p.written, name)
	}
	return nil
}

func (p *procletPeer) roots() []int {
	if p.daemon == nil {
		return nil
	}
	return []int{p.daemon.cmd.Process.Pid}
}

// close stops the daemon, which stops its instances (--on-exit stop).
func (p *procletPeer) close() {
	if p.daemon != nil {
		p.daemon.stop(30 * time.Second)
	}
	// The daemon's output FIFOs are on a tmpfs by default, outside p.ph.dir.
	if run := rtexec.TmpfsRunDir(filepath.Join(p.ph.dir, "state")); run != "" {
		os.RemoveAll(run)
	}
}

// instance is the part of the API's Instance the harness reads.
type instance struct {
	Name  string `json:"name"`
	Phase string `json:"phase"`
	PID   int    `json:"pid"`
	Ready bool   `json:"ready"`
}

// instances is GET /api/v1/instances.
func (p *procletPeer) instances() ([]instance, error) {
	resp, err := p.client.Get(p.base + "/api/v1/instances")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var l struct {
		Items []instance `json:"items"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&l); err != nil {
		return nil, fmt.Errorf("GET /api/v1/instances: %w", err)
	}
	return l.Items, nil
}

// waitAPI polls the API until every instance of insts is Running with a
// PID (and ready, when ready is set); it returns when it saw that.
func (p *procletPeer) waitAPI(ctx context.Context, insts []string, ready bool, timeout time.Duration) (time.Time, error) {
	deadline := time.Now().Add(timeout)
	for {
		items, err := p.instances()
		if err == nil {
			ok := map[string]bool{}
			for _, i := range items {
				if i.Phase == "Running" && i.PID > 0 && (!ready || i.Ready) {
					ok[i.Name] = true
				}
			}
			all := true
			for _, name := range insts {
				if !ok[name] {
					all = false
					break
				}
			}
			if all {
				return time.Now(), nil
			}
		}
		if time.Now().After(deadline) {
			return time.Time{}, errTimeout
		}
		select {
		case <-ctx.Done():
			return time.Time{}, ctx.Err()
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// get times one GET of path, body read to the end.
func (p *procletPeer) get(path string) (time.Duration, int, error) {
	t := time.Now()
	resp, err := p.client.Get(p.base + path)
	if err != nil {
		return 0, 0, err
	}
	n, err := io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	d := time.Since(t)
	if err == nil && resp.StatusCode != http.StatusOK {
		err = fmt.Errorf("GET %s: %s", path, resp.Status)
	}
	return d, int(n), err
}

// freeAddr is a loopback address with a port free right now.
func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// validates checks, with the daemon under test's own `proclet validate`,
// that it accepts one app of n replicas: a build that refuses it would
// leave the manifest unapplied, and the converge would wait for its
// timeout.
func (b *bench) validates(ctx context.Context, n int) error {
	a := app{name: "r", argv: []string{b.workload}, replicas: n}
	file := filepath.Join(b.tmp, fmt.Sprintf("validate-replicas-%d.yaml", n))
	if err := os.WriteFile(file, []byte(manifest(a)), 0o644); err != nil {
		return err
	}
	out, err := exec.CommandContext(ctx, b.proclet, "validate", file).CombinedOutput()
	if err != nil {
		line, _, _ := strings.Cut(strings.TrimSpace(string(out)), "\n")
		return fmt.Errorf("this build refuses replicas: %d (%s)", n, strings.TrimPrefix(line, file+":"))
	}
	return nil
}
