package ports

import (
	"errors"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"testing"

	"proclet.dev/proclet/apis/v1alpha1"
	"proclet.dev/proclet/runtime"
)

// TestSocketPortsJoinTheChecks: a socket's port is held for its app: a
// fixed port of another app on it is refused, a range skips it, and a
// socket on a port another app's instance holds is refused naming
// spec.sockets[i]. Release frees the socket with the ports.
func TestSocketPortsJoinTheChecks(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := int32(l.Addr().(*net.TCPAddr).Port)
	l.Close()
	m := NewManager(t.TempDir(), slog.New(slog.DiscardHandler))
	web := runtime.StartSpec{UID: "w0", App: "web", Spec: &v1alpha1.AppSpec{
		Sockets: []v1alpha1.SocketSpec{{Name: "http", Port: port, Host: "127.0.0.1"}}}}
	if _, err := m.Sockets(web); err != nil {
		t.Fatal(err)
	}
	defer m.Release("w0")

	api := runtime.StartSpec{UID: "a0", App: "api", Spec: &v1alpha1.AppSpec{Ports: []v1alpha1.PortSpec{{Name: "http", Port: port}}}}
	_, err = m.Assign(api)
	var pe *runtime.PortInUseError
	if !errors.As(err, &pe) || !strings.Contains(err.Error(), `is the socket http of app "web"`) {
		t.Fatalf("a fixed port on another app's socket: %v", err)
	}
	r := runtime.StartSpec{UID: "a1", App: "api", Spec: &v1alpha1.AppSpec{Ports: []v1alpha1.PortSpec{{Name: "http", Range: portRange(port, port+1)}}}}
	got, err := m.Assign(r)
	if err != nil || got["http"] == port {
		t.Fatalf("a range took the socket's port: %v, %v", got, err)
	}

	other := runtime.StartSpec{UID: "x0", App: "other", Spec: &v1alpha1.AppSpec{
		Sockets: []v1alpha1.SocketSpec{{Name: "web", Port: got["http"], Host: "127.0.0.1"}}}}
	_, err = m.Sockets(other)
	if !errors.As(err, &pe) || !strings.Contains(err.Error(), "spec.sockets[0] (web): port") || !strings.Contains(err.Error(), "held by instance api-0") {
		t.Fatalf("a socket on another app's port: %v", err)
	}
}

func portRange(lo, hi int32) string {
	return strconv.Itoa(int(lo)) + "-" + strconv.Itoa(int(hi))
}
