package runtime

import (
	"context"
	"net"
	"strconv"

	"proclet.dev/proclet/apis/v1alpha1"
)

// tcpProbe is a tcpSocket probe: success when a TCP connection opens.
type tcpProbe struct {
	addr   string
	dialer net.Dialer
}

func newTCPProbe(a *v1alpha1.TCPSocketAction, port int) *tcpProbe {
	host := a.Host
	if host == "" {
		host = probeHost
	}
	return &tcpProbe{addr: net.JoinHostPort(host, strconv.Itoa(port))}
}

func (p *tcpProbe) probe(ctx context.Context) probeResult {
	c, err := p.dialer.DialContext(ctx, "tcp", p.addr)
	if err != nil {
		return probeResult{msg: err.Error()}
	}
	c.Close()
	return probeResult{ok: true}
}
