package reconciler

import (
	"testing"

	"proclet.dev/proclet/apis/v1alpha1"
)

// TestRollingBounds_SocketsSurge: a fixed port forbids a surge (two
// instances cannot bind it), a socket does not (every instance shares the
// daemon's): a rollout of an app with a socket starts the new instance
// before it stops an old one.
func TestRollingBounds_SocketsSurge(t *testing.T) {
	a := testApp(3, strategy(v1alpha1.FromInt(1), v1alpha1.FromInt(0)))
	a.Spec.Sockets = []v1alpha1.SocketSpec{{Name: "http", Port: 8080, Host: "127.0.0.1"}}
	if surge, unavail := rollingBounds(&a.Spec, 3); surge != 1 || unavail != 0 {
		t.Fatalf("with a socket: surge %d, unavailable %d; want 1 and 0", surge, unavail)
	}
	a.Spec.Ports = []v1alpha1.PortSpec{{Name: "admin", Port: 9090}}
	if surge, unavail := rollingBounds(&a.Spec, 3); surge != 0 || unavail != 1 {
		t.Fatalf("with a fixed port: surge %d, unavailable %d; want 0 and 1", surge, unavail)
	}
}
