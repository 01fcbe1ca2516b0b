package sockets

import (
	"errors"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"proclet.dev/proclet/apis/v1alpha1"
	"proclet.dev/proclet/runtime/internal/testutil"
	_ "proclet.dev/proclet/runtime/sockets/shim" // this test binary is the shim of TestShim*
)

// freePort returns a TCP port nothing listens on (now).
func freePort(t *testing.T) int32 {
	t.Helper()
	return testutil.FreePort(t)
}

func refused(port int32) bool {
	c, err := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(int(port)))
	if err == nil {
		c.Close()
		return false
	}
	return errors.Is(err, syscall.ECONNREFUSED)
}

// TestShimSetsListenPID runs the shim as a real process: the command it
// execs sees LISTEN_PID equal to its own PID, which is the PID the
// parent forked (the shim's), with argv passed through unparsed.
func TestShimSetsListenPID(t *testing.T) {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	args := ShimArgs("/bin/sh", []string{"sh", "-c", `echo "$LISTEN_PID $$ $1 $A"`, "sh", "two words"})
	cmd := &exec.Cmd{Path: self, Args: args, Env: []string{"A=1", "LISTEN_PID=1", "LISTEN_FDS=0"}}
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pid := cmd.Process.Pid
	if err := cmd.Wait(); err != nil {
		t.Fatalf("%v: %s", err, out.String())
	}
	want := strconv.Itoa(pid) + " " + strconv.Itoa(pid) + " two words 1\n"
	if out.String() != want {
		t.Fatalf("shim output %q, want %q (LISTEN_PID, the command's $$, its argument)", out.String(), want)
	}
}

// TestShimExecFailure: a command that cannot be exec'd is exit 127 with
// the reason on stderr, as a shell says it.
func TestShimExecFailure(t *testing.T) {
	self, _ := os.Executable()
	cmd := &exec.Cmd{Path: self, Args: ShimArgs("/nonexistent/cmd", []string{"cmd"})}
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 127 || !strings.Contains(string(out), "/nonexistent/cmd") {
		t.Fatalf("err %v, output %q; want exit 127 naming the path", err, out)
	}
}

func TestEnvNamesInOrder(t *testing.T) {
	got := Env([]v1alpha1.SocketSpec{{Name: "http", Port: 1}, {Name: "admin", Port: 2}})
	want := []string{"LISTEN_FDS=2", "LISTEN_FDNAMES=http:admin"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("Env = %q, want %q", got, want)
	}
}

// TestSetSharesOneSocket: every instance of an app gets the same socket;
// it stays bound until the last one releases it; another app cannot
// have its address or its port.
func TestSetSharesOneSocket(t *testing.T) {
	port := freePort(t)
	spec := []v1alpha1.SocketSpec{{Name: "http", Port: port, Host: "127.0.0.1"}}
	s := NewSet()
	a, err := s.Acquire("uid-a", "web", spec)
	if err != nil {
		t.Fatal(err)
	}
	b, err := s.Acquire("uid-b", "web", spec)
	if err != nil {
		t.Fatal(err)
	}
	if Inode(a[0]) == 0 || Inode(a[0]) != Inode(b[0]) {
		t.Fatalf("two sockets for one address: inodes %d and %d", Inode(a[0]), Inode(b[0]))
	}
	if v, err := syscall.GetsockoptInt(int(a[0].Fd()), syscall.SOL_SOCKET, syscall.SO_REUSEADDR); err != nil || v != 1 {
		t.Errorf("SO_REUSEADDR = %d, %v", v, err)
	}
	other := []v1alpha1.SocketSpec{{Name: "api", Port: port, Host: "0.0.0.0"}}
	_, err = s.Acquire("uid-c", "api", other)
	var ce *ConflictError
	if !errors.As(err, &ce) || ce.Index != 0 || !strings.Contains(err.Error(), `spec.sockets[0] (api): port `+strconv.Itoa(int(port))+` is the socket http of app "web"`) {
		t.Fatalf("another app on the port: %v", err)
	}
	s.Release("uid-a")
	if refused(port) {
		t.Fatal("the socket closed while an instance still holds it")
	}
	s.Release("uid-b")
	if !refused(port) {
		t.Fatal("the socket is still bound after the last release")
	}
	if len(s.Bound()) != 0 {
		t.Fatalf("Bound after release: %v", s.Bound())
	}
}

// TestAcquireFailureHoldsNothing: when the second socket cannot be bound
// the first is released too.
func TestAcquireFailureHoldsNothing(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	port := freePort(t)
	specs := []v1alpha1.SocketSpec{{Name: "a", Port: port}, {Name: "b", Port: int32(busy.Addr().(*net.TCPAddr).Port)}}
	s := NewSet()
	_, err = s.Acquire("uid", "web", specs)
	var ce *ConflictError
	if !errors.As(err, &ce) || ce.Index != 1 || !errors.Is(err, syscall.EADDRINUSE) {
		t.Fatalf("err = %v, want spec.sockets[1] in use", err)
	}
	if len(s.Bound()) != 0 || !refused(port) {
		t.Fatalf("a failed Acquire left %v bound", s.Bound())
	}
}

// TestTakeBack copies a listening socket out of another process by its fd
// number (or, when that fd is something else, the process's listener on
// the port), checks it is the same socket, and finds nothing on another
// port.
func TestTakeBack(t *testing.T) {
	port := freePort(t)
	spec := v1alpha1.SocketSpec{Name: "http", Port: port, Host: "127.0.0.1"}
	f, err := Listen(spec)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	cmd := exec.Command("/bin/sh", "-c", "read x")
	cmd.ExtraFiles = []*os.File{f}
	stdin, _ := cmd.StdinPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { stdin.Close(); cmd.Wait() }()
	got, err := TakeBack(cmd.Process.Pid, FirstFD, spec)
	if err != nil {
		t.Fatal(err)
	}
	defer got.Close()
	if Inode(got) != Inode(f) {
		t.Fatalf("took back inode %d, want %d", Inode(got), Inode(f))
	}
	// The recorded fd is something else now (the program moved the
	// socket): the listener on the port is found among its fds.
	moved, err := TakeBack(cmd.Process.Pid, 0, spec)
	if err != nil {
		t.Fatal(err)
	}
	defer moved.Close()
	if Inode(moved) != Inode(f) {
		t.Fatalf("took back inode %d for a moved socket, want %d", Inode(moved), Inode(f))
	}
	if _, err := TakeBack(cmd.Process.Pid, FirstFD, v1alpha1.SocketSpec{Name: "x", Port: port + 1}); err == nil {
		t.Fatal("took back a socket on another port")
	}
}

// TestListenBacklog: a socket listens with a backlog of Backlog, capped by
// net.core.somaxconn (ss shows a listener's backlog as its Send-Q).
func TestListenBacklog(t *testing.T) {
	ss, err := exec.LookPath("ss")
	if err != nil {
		t.Skip("no ss(8) to read the backlog with")
	}
	port := freePort(t)
	f, err := Listen(v1alpha1.SocketSpec{Name: "http", Port: port, Host: "127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	want := Backlog
	if b, err := os.ReadFile("/proc/sys/net/core/somaxconn"); err == nil {
		if n, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && n < want {
			want = n
		}
	}
	out, err := exec.Command(ss, "-ltnH", "sport", "=", ":"+strconv.Itoa(int(port))).Output()
	if err != nil {
		t.Fatal(err)
	}
	fields := strings.Fields(string(out)) // State Recv-Q Send-Q Local Peer
	if len(fields) < 3 || fields[2] != strconv.Itoa(want) {
		t.Fatalf("ss: %q, want a Send-Q (backlog) of %d", out, want)
	}
}
