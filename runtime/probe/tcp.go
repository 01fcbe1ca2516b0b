package probe

import (
	"context"
	"net"
	"strconv"

	"proclet.dev/proclet/apis/v1alpha1"
)

// tcpProbe is a tcpSocket probe: success when a TCP connection opens. The
// connection is closed at once, without a byte sent.
type tcpProbe struct {
	addr string
	poll *pollTarget
}

func NewTCP(a *v1alpha1.TCPSocketAction, port int) *tcpProbe {
	host := a.Host
	if host == "" {
		host = probeHost
	}
	return &tcpProbe{addr: net.JoinHostPort(host, strconv.Itoa(port)), poll: newPollTarget(host, port)}
}

func (p *tcpProbe) pollTarget() *pollTarget { return p.poll }

func (p *tcpProbe) Probe(ctx context.Context) Result {
	c, err := probeDialer.DialContext(ctx, "tcp", p.addr)
	if err != nil {
		return Result{Msg: err.Error()}
	}
	c.Close()
	return Result{OK: true}
}
