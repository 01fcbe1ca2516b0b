package exec

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"proclet.dev/proclet/apis/v1alpha1"

	"proclet.dev/proclet/runtime"
	"proclet.dev/proclet/runtime/internal/testutil"
	"proclet.dev/proclet/runtime/ports"
	"proclet.dev/proclet/runtime/procfs"
)

// quietRange returns the first port of n consecutive ports, at or above
// from, that nothing on the host listens on.
func quietRange(t *testing.T, from, n int32) int32 {
	t.Helper()
	host, err := ports.HostListeners("/proc/net")
	if err != nil {
		t.Fatal(err)
	}
	run := int32(0)
	for p := from; p < 65535; p++ {
		if host.Has(p) {
			run = 0
			continue
		}
		if run++; run == n {
			return p - n + 1
		}
	}
	t.Fatalf("no %d quiet ports above %d", n, from)
	return 0
}

func portRange(lo, hi int32) string { return fmt.Sprintf("%d-%d", lo, hi) }

// sleeper is a StartSpec of app-ordinal with uid, sleeping, with ports.
func (h *harness) sleeper(uid, app string, ordinal int, ports ...v1alpha1.PortSpec) runtime.StartSpec {
	return runtime.StartSpec{UID: uid, App: app, Instance: fmt.Sprintf("%s-%d", app, ordinal), Ordinal: ordinal, Revision: "rev1",
		Spec: &v1alpha1.AppSpec{Command: []string{"/bin/sleep", "100"}, Ports: ports}, Dir: h.dir}
}

// kill stops uid at once, waits for its exit and releases it.
func (h *harness) kill(uid string) {
	h.t.Helper()
	if err := h.e.Stop(uid, runtime.StopSpec{Signal: unix.SIGKILL, Reason: "Stopped"}); err != nil {
		h.t.Fatal(err)
	}
	h.waitExit(uid, 10*time.Second)
	h.e.Release(uid)
}

func TestStartSkipsForeignListener(t *testing.T) {
	h := newHarness(t)
	for _, l := range []struct{ network, addr string }{{"tcp4", "127.0.0.1:0"}, {"tcp6", "[::1]:0"}} {
		t.Run(l.network, func(t *testing.T) {
			p, ok := testutil.ListenPort(t, l.network, l.addr)
			if !ok {
				t.Skipf("cannot listen on %s", l.addr)
			}
			if p > 65535-20 {
				t.Skipf("listener on %d: no room for a range above it", p)
			}
			uid := "skip-" + l.network
			st := h.start(h.sleeper(uid, "web", 0, rangePort("http", portRange(p, p+20))))
			if got := st.Ports["http"]; got == p || got < p || got > p+20 {
				t.Errorf("got port %d from %d-%d where %d is taken", got, p, p+20, p)
			}
			h.kill(uid)
		})
	}
}

func TestStartFixedPortInUse(t *testing.T) {
	h := newHarness(t)
	p, _ := testutil.ListenPort(t, "tcp4", "127.0.0.1:0")
	_, err := h.e.Start(t.Context(), h.sleeper("u0", "web", 0, fixedPort("http", p)))
	var pe *runtime.PortInUseError
	if !errors.As(err, &pe) || pe.Port != p || pe.Name != "http" {
		t.Fatalf("err = %v, want a runtime.PortInUseError for %d", err, p)
	}
	if want := fmt.Sprintf("start web-0: port %d (http) is in use by another process", p); err.Error() != want {
		t.Errorf("err = %q, want %q", err, want)
	}
	if got := h.e.Instances("web"); len(got) != 0 {
		t.Errorf("a handle was kept: %+v", got)
	}
	if n := h.e.ports.Held(); n != 0 {
		t.Errorf("%d allocations kept", n)
	}
}

func TestStartFailureReleasesPorts(t *testing.T) {
	h := newHarness(t)
	base := quietRange(t, 41000, 5)
	s := h.sleeper("u0", "web", 0, rangePort("http", portRange(base, base+4)))
	s.Spec.Command = []string{"./no-such-binary"}
	if _, err := h.e.Start(t.Context(), s); err == nil {
		t.Fatal("started a missing binary")
	}
	if n := h.e.ports.Held(); n != 0 {
		t.Errorf("a failed start holds ports: %d", n)
	}
	if live := h.e.ports.Previous(); len(live) != 0 {
		t.Errorf("ports.json after a failed start: %+v", live)
	}
}

func TestStartOverlappingApps(t *testing.T) {
	h := newHarness(t)
	base := quietRange(t, 41100, 15)
	seen := map[int32]string{}
	for o := range 3 {
		for _, app := range []struct{ name, r string }{{"api", portRange(base, base+9)}, {"web", portRange(base+5, base+14)}} {
			st := h.start(h.sleeper(fmt.Sprintf("%s-u%d", app.name, o), app.name, o, rangePort("http", app.r)))
			p := st.Ports["http"]
			if other, dup := seen[p]; dup {
				t.Fatalf("%s got %d, already %s's", st.Instance, p, other)
			}
			seen[p] = st.Instance
		}
	}
}

func TestStartStickyAcrossRestart(t *testing.T) {
	h := newHarness(t)
	base := quietRange(t, 41200, 10)
	http := rangePort("http", portRange(base, base+9))
	if p := h.start(h.sleeper("a", "web", 0, http)).Ports["http"]; p != base {
		t.Fatalf("web-0 = %d, want %d", p, base)
	}
	if p := h.start(h.sleeper("b", "web", 1, http)).Ports["http"]; p != base+1 {
		t.Fatalf("web-1 = %d, want %d", p, base+1)
	}
	h.kill("a")
	// Scale-up while web-0 is down: its port stays web-0's.
	if p := h.start(h.sleeper("c", "web", 2, http)).Ports["http"]; p != base+2 {
		t.Errorf("web-2 = %d, want %d", p, base+2)
	}
	st := h.start(h.sleeper("d", "web", 0, http))
	if p := st.Ports["http"]; p != base {
		t.Errorf("web-0 restarted = %d, want its port %d", p, base)
	}
	// The surge instance of web-0 gets another port, which is web-0's
	// once the old one goes.
	surge := h.start(h.sleeper("e", "web", 0, http)).Ports["http"]
	if surge == base || surge < base || surge > base+9 {
		t.Fatalf("surge web-0 = %d", surge)
	}
	h.kill("d")
	h.kill("e")
	if p := h.start(h.sleeper("f", "web", 0, http)).Ports["http"]; p != surge {
		t.Errorf("web-0 after the rollout = %d, want the surge's %d", p, surge)
	}
}

func TestStartStickyAcrossDaemonRestart(t *testing.T) {
	h := newHarness(t)
	base := quietRange(t, 41300, 10)
	http := rangePort("http", portRange(base, base+9))
	want := map[int]int32{}
	for o := range 3 {
		want[o] = h.start(h.sleeper(fmt.Sprintf("old-%d", o), "web", o, http)).Ports["http"]
	}
	// The daemon goes down: everything stops, nothing is released.
	sctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if err := h.e.StopAll(sctx, "Shutdown"); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(h.state, ports.FileName))
	if err != nil || !bytes.Contains(data, []byte(`"old-2"`)) {
		t.Fatalf("ports.json: %v\n%s", err, data)
	}

	e2, err := New(Options{StateDir: h.state, Log: slog.New(slog.DiscardHandler), Env: []string{"PATH=/usr/bin:/bin"}})
	if err != nil {
		t.Fatal(err)
	}
	var pids []startedPID
	t.Cleanup(func() {
		killGroups(pids)
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := e2.StopAll(sctx, "TestCleanup"); err != nil {
			t.Error(err)
		}
	})
	// In reverse order, so that "lowest free" alone would get it wrong.
	for _, o := range []int{2, 0, 1} {
		st, err := e2.Start(t.Context(), h.sleeper(fmt.Sprintf("new-%d", o), "web", o, http))
		if err != nil {
			t.Fatal(err)
		}
		pids = append(pids, startedPID{st.PID, procfs.StartTicks(st.PID)})
		if st.Ports["http"] != want[o] {
			t.Errorf("web-%d after a daemon restart = %d, want %d", o, st.Ports["http"], want[o])
		}
	}
}

func TestNewExecCorruptPortsFile(t *testing.T) {
	state := t.TempDir()
	path := filepath.Join(state, ports.FileName)
	os.WriteFile(path, []byte(`{"sticky": [`), 0o600)
	var logs bytes.Buffer
	e, err := New(Options{StateDir: state, Log: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(logs.String(), "port allocations unreadable") {
		t.Errorf("corrupt ports.json not logged: %q", logs.String())
	}
	got, err := e.ports.Assign(runtime.StartSpec{UID: "u0", App: "web", Ordinal: 0,
		Spec: &v1alpha1.AppSpec{Ports: []v1alpha1.PortSpec{rangePort("http", "1-65535")}}})
	if err != nil || got["http"] == 0 {
		t.Fatalf("assign after a corrupt file: %v, %v", got, err)
	}
	var f ports.File
	data, _ := os.ReadFile(path)
	if err := json.Unmarshal(data, &f); err != nil || len(f.Live) != 1 {
		t.Errorf("ports.json not rewritten: %v\n%s", err, data)
	}
}

func TestStartPortEnv(t *testing.T) {
	h := newHarness(t)
	base := quietRange(t, 41400, 10)
	s := h.sleeper("u0", "web", 0, rangePort("http", portRange(base, base+4)), rangePort("admin", portRange(base+5, base+9)))
	s.Spec.Command = []string{"/bin/sh", "-c", `echo "PORT=$PORT PORT_HTTP=$PORT_HTTP PORT_ADMIN=$PORT_ADMIN ARG=$1"`, "sh", "$(PORT_ADMIN)"}
	st := h.start(s)
	if st.Ports["http"] != base || st.Ports["admin"] != base+5 {
		t.Fatalf("ports = %v", st.Ports)
	}
	want := fmt.Sprintf("PORT=%d PORT_HTTP=%d PORT_ADMIN=%d ARG=%d", base, base, base+5, base+5)
	h.waitLog(s, "stdout", want, 10*time.Second)
	h.waitExit("u0", 10*time.Second)
}

func TestStartExplicitPortsKept(t *testing.T) {
	h := newHarness(t)
	base := quietRange(t, 41500, 5)
	http := rangePort("http", portRange(base, base+4))
	s := h.sleeper("given", "web", 0, http)
	s.Ports = map[string]int32{"http": base + 3}
	if st := h.start(s); st.Ports["http"] != base+3 {
		t.Fatalf("explicit ports replaced: %v", st.Ports)
	}
	// Held all the same.
	if p := h.start(h.sleeper("next", "web", 1, http)).Ports["http"]; p != base {
		t.Errorf("web-1 = %d, want %d", p, base)
	}
}

func rangePort(name, r string) v1alpha1.PortSpec { return v1alpha1.PortSpec{Name: name, Range: r} }
func fixedPort(name string, p int32) v1alpha1.PortSpec {
	return v1alpha1.PortSpec{Name: name, Port: p}
}
