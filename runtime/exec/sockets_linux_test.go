package exec

import (
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"proclet.dev/proclet/apis/v1alpha1"
	"proclet.dev/proclet/runtime"
)

func freeTCPPort(t testing.TB) int32 {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return int32(l.Addr().(*net.TCPAddr).Port)
}

// socketInodes is the inode of every socket pid holds.
func socketInodes(t *testing.T, pid int) map[uint64]bool {
	t.Helper()
	dir := "/proc/" + strconv.Itoa(pid) + "/fd/"
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	out := map[uint64]bool{}
	for _, e := range ents {
		link, _ := os.Readlink(dir + e.Name())
		if v, ok := strings.CutPrefix(link, "socket:["); ok {
			n, _ := strconv.ParseUint(strings.TrimSuffix(v, "]"), 10, 64)
			out[n] = true
		}
	}
	return out
}

// holds waits until pid holds the socket inode (the shim has exec'd the
// command by then, or it is still the shim: both hold it from the fork).
func holds(t *testing.T, pid int, inode uint64) {
	t.Helper()
	waitFor(t, 5*time.Second, "pid "+strconv.Itoa(pid)+" holds socket "+strconv.FormatUint(inode, 10), func() bool {
		return socketInodes(t, pid)[inode]
	})
}

func envOf(log string) map[string]string {
	env := map[string]string{}
	for line := range strings.Lines(log) {
		if k, v, ok := strings.Cut(strings.TrimSuffix(line, "\n"), "="); ok {
			env[k] = v
		}
	}
	return env
}

func get(port int32) (string, error) {
	c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := c.Get("http://127.0.0.1:" + strconv.Itoa(int(port)) + "/")
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return string(b), err
}

// TestSockets_OneSocketForEveryInstance: two instances of an app with a
// socket inherit the same listening socket as fd 3, with LISTEN_PID their
// own PID, LISTEN_FDS and LISTEN_FDNAMES; both serve on the one port; the
// socket is closed once the last instance is released.
func TestSockets_OneSocketForEveryInstance(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	port := freeTCPPort(t)
	var states []runtime.State
	var specs []runtime.StartSpec
	for range 2 {
		s := h.spec(workload, "--print-env", "--socket", "http")
		s.Spec.Sockets = []v1alpha1.SocketSpec{{Name: "http", Port: port, Host: "127.0.0.1"}}
		specs = append(specs, s)
		states = append(states, h.start(s))
	}
	inode := h.e.ports.SocketInodes()["127.0.0.1:"+strconv.Itoa(int(port))]
	for i, s := range specs {
		env := envOf(h.waitLog(s, "stdout", "PROCLET_UID=", 5*time.Second))
		if env["LISTEN_PID"] != strconv.Itoa(states[i].PID) || env["LISTEN_FDS"] != "1" || env["LISTEN_FDNAMES"] != "http" {
			t.Fatalf("%s (pid %d): LISTEN_PID=%q LISTEN_FDS=%q LISTEN_FDNAMES=%q", s.Instance, states[i].PID,
				env["LISTEN_PID"], env["LISTEN_FDS"], env["LISTEN_FDNAMES"])
		}
		holds(t, states[i].PID, inode)
	}
	seen := map[string]bool{}
	waitFor(t, 10*time.Second, "both instances answer on the one port", func() bool {
		body, err := get(port)
		if err == nil {
			seen[strings.Fields(body)[0]] = true
		}
		return len(seen) == 2
	})
	for _, s := range specs {
		if err := h.e.Stop(s.UID, runtime.StopSpec{Signal: unix.SIGTERM, Grace: 10 * time.Second, Reason: "Stopped"}); err != nil {
			t.Fatal(err)
		}
		h.waitExit(s.UID, 10*time.Second)
		h.e.Release(s.UID)
	}
	_, err := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(int(port)))
	if !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("after the last release the port answers: %v", err)
	}
}

// TestSockets_FDNumbering: the sockets are fds 3, 4 … in spec order and
// LISTEN_FDNAMES names them in that order.
func TestSockets_FDNumbering(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	a, b := freeTCPPort(t), freeTCPPort(t)
	s := h.spec("/bin/sh", "-c", `env; ls -l /proc/$$$$/fd/3 /proc/$$$$/fd/4; exec sleep 60` /* $$ is $ after $(VAR) expansion */)
	s.Spec.Sockets = []v1alpha1.SocketSpec{{Name: "http", Port: a, Host: "127.0.0.1"}, {Name: "admin", Port: b, Host: "127.0.0.1"}}
	st := h.start(s)
	env := envOf(h.waitLog(s, "stdout", "PROCLET_UID=", 5*time.Second))
	if env["LISTEN_FDS"] != "2" || env["LISTEN_FDNAMES"] != "http:admin" {
		t.Fatalf("LISTEN_FDS=%q LISTEN_FDNAMES=%q", env["LISTEN_FDS"], env["LISTEN_FDNAMES"])
	}
	if env["LISTEN_PID"] != strconv.Itoa(st.PID) {
		t.Fatalf("LISTEN_PID=%q, the instance is %d", env["LISTEN_PID"], st.PID)
	}
	log := h.waitLog(s, "stdout", "/fd/4 ->", 5*time.Second)
	inodes := h.e.ports.SocketInodes()
	for fd, addr := range map[int]string{3: s.Spec.Sockets[0].Address(), 4: s.Spec.Sockets[1].Address()} {
		want := "/fd/" + strconv.Itoa(fd) + " -> socket:[" + strconv.FormatUint(inodes[addr], 10) + "]"
		if !strings.Contains(log, want) {
			t.Fatalf("want %q (the socket of %s) in:\n%s", want, addr, log)
		}
	}
}

// TestSockets_AdoptTakesBack: a new Runtime adopting an instance with a
// socket takes that very socket back from it (pidfd_getfd on the recorded
// fd), so its next instance shares it instead of binding another.
func TestSockets_AdoptTakesBack(t *testing.T) {
	t.Parallel()
	a := newHarness(t)
	var port int32
	var s runtime.StartSpec
	var st runtime.State
	for try := 1; ; try++ {
		// The port free a moment ago may be taken since by another
		// test's connection (its source port): try another.
		port = freeTCPPort(t)
		s = a.spec(workload, "--socket", "http")
		s.Spec.Sockets = []v1alpha1.SocketSpec{{Name: "http", Port: port, Host: "127.0.0.1"}}
		var err error
		if st, err = a.tryStart(s); err == nil {
			break
		}
		var pe *runtime.PortInUseError
		if try == 5 || !(errors.As(err, &pe) || errors.Is(err, unix.EADDRINUSE)) {
			t.Fatalf("start: %v", err)
		}
	}
	inode := a.e.ports.SocketInodes()[s.Spec.Sockets[0].Address()]
	holds(t, st.PID, inode)
	// Serving: the workload moved the socket off fd 3 (net.FileListener
	// dups it, then the original is closed), so the take-back must find it.
	waitFor(t, 10*time.Second, "the instance serves", func() bool { _, err := get(port); return err == nil })
	a.detach()
	a.e.ports.Release(s.UID) // the old daemon's copy is gone, as after its kill -9

	b := a.reopen(nil)
	addr := s.Spec.Sockets[0].Address()
	if got := b.ports.SocketInodes()[addr]; got != inode {
		t.Fatalf("the new runtime holds socket %d for %s, want the instance's %d", got, addr, inode)
	}
	next := a.spec(workload, "--socket", "http")
	next.Spec.Sockets = s.Spec.Sockets
	st2, err := b.Start(t.Context(), next)
	if err != nil {
		t.Fatal(err)
	}
	holds(t, st2.PID, inode)
	b.writeInstances()
	data, _ := os.ReadFile(b.store.path)
	if !strings.Contains(string(data), `"listenFDs":{"http":3}`) {
		t.Fatalf("instances.json does not record the socket's fd: %s", data)
	}
}

// TestSockets_PortOfAnotherApp: a socket on a port another app's instance
// holds is refused naming spec.sockets[0]; nothing is bound.
func TestSockets_PortOfAnotherApp(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	port := freeTCPPort(t)
	other := h.spec(workload, "--port=")
	other.App = "api"
	other.Ports = map[string]int32{"http": port}
	h.start(other)
	s := h.spec(workload, "--socket", "http")
	s.Spec.Sockets = []v1alpha1.SocketSpec{{Name: "http", Port: port, Host: "127.0.0.1"}}
	_, err := h.e.Start(t.Context(), s)
	var pe *runtime.PortInUseError
	if !errors.As(err, &pe) || pe.Port != port || !strings.Contains(err.Error(), "spec.sockets[0] (http)") {
		t.Fatalf("err = %v, want a PortInUseError naming spec.sockets[0]", err)
	}
	if len(h.e.ports.BoundSockets()) != 0 {
		t.Fatalf("bound after a refused start: %v", h.e.ports.BoundSockets())
	}
}
