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
	addr   string
	dialer net.Dialer
	poll   *pollTarget
}

func NewTCP(a *v1alpha1.TCPSocketAction, port int) *tcpProbe {
	host := a.Host
	if host == "" {
		host = probeHost
	}
	// No TCP keep-alive: it would cost four setsockopt calls a run on a
	// connection closed at once.
	return &tcpProbe{addr: net.JoinHostPort(host, strconv.Itoa(port)), dialer: net.Dialer{KeepAlive: -1},
		poll: newPollTarget(host, port)}
}

func (p *tcpProbe) pollTarget() *pollTarget { return p.poll }

func (p *tcpProbe) Probe(ctx context.Context) Result {
	c, err := p.dialer.DialContext(ctx, "tcp", p.addr)
	if err != nil {
		return Result{Msg: err.Error()}
	}
	c.Close()
	return Result{OK: true}
}
