package probe

import (
	"context"
	"net"
	"strings"
	"syscall"
	"testing"
	"time"

	"proclet.dev/proclet/apis/v1alpha1"
)

func TestTCPProbe(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	p := NewTCP(&v1alpha1.TCPSocketAction{}, port)
	if res, _ := runProbe(p, 2*time.Second); !res.OK {
		t.Errorf("open port: %s", res.Msg)
	}
	ln.Close()
	if res, _ := runProbe(p, 2*time.Second); res.OK || !strings.Contains(res.Msg, "connection refused") {
		t.Errorf("closed port: %+v, want connection refused", res)
	}
}

// A TCP connect that gets no answer: a SYN to a listener whose accept
// queue is full is dropped, so the dial hangs until the timeout.
func TestTCPProbe_Timeout(t *testing.T) {
	lc := net.ListenConfig{}
	ln, err := lc.Listen(context.Background(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	if err := setBacklog(ln, 0); err != nil {
		t.Skipf("cannot shrink the backlog: %v", err)
	}
	addr := ln.Addr().String()
	var fill []net.Conn
	defer func() {
		for _, c := range fill {
			c.Close()
		}
	}()
	// Fill the accept queue until a connect hangs.
	for range 16 {
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err != nil {
			break
		}
		fill = append(fill, c)
	}
	p := NewTCP(&v1alpha1.TCPSocketAction{Host: "127.0.0.1"}, ln.Addr().(*net.TCPAddr).Port)
	res, took := runProbe(p, 300*time.Millisecond)
	if res.OK {
		t.Skip("the kernel accepted the connection despite a full queue")
	}
	if took < 300*time.Millisecond || took > 2*time.Second {
		t.Errorf("failed after %v (%s), want the timeout (300ms)", took, res.Msg)
	}
}

// setBacklog re-listens ln's socket with backlog n (Linux allows it).
func setBacklog(ln net.Listener, n int) error {
	rc, err := ln.(*net.TCPListener).SyscallConn()
	if err != nil {
		return err
	}
	var lerr error
	if err := rc.Control(func(fd uintptr) { lerr = syscall.Listen(int(fd), n) }); err != nil {
		return err
	}
	return lerr
}
