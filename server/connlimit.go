package server

import (
	"crypto/tls"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Connection caps' defaults. The total's default follows RLIMIT_NOFILE
// (DefaultMaxConnections).
const (
	DefaultMaxConnectionsPerClient = 64
	maxDefaultConnections          = 1024
	minDefaultConnections          = 16
)

// DefaultMaxConnections is the default cap on open API connections for a
// descriptor limit of nofile: a quarter of it, at most 1024, so that the
// rest stays for supervision (pidfds, output FIFOs, log and state files,
// probe connections) whatever the API's load.
func DefaultMaxConnections(nofile uint64) int {
	return int(max(minDefaultConnections, min(maxDefaultConnections, nofile/4)))
}

// refusalLogEvery bounds the warnings about refused connections.
const refusalLogEvery = 10 * time.Second

// connLimiter wraps the API's listener: it counts the open connections,
// in total and per client address, and makes room for a new one by
// closing the longest idle keep-alive connection (of that client when it
// is the client's cap that is reached). When nothing is idle, the new
// connection is answered 503 at once and closed: no descriptor is ever
// held for a connection over a cap, and the accept loop never waits.
type connLimiter struct {
	net.Listener
	max, perClient int
	log            *slog.Logger

	mu      sync.Mutex
	total   int
	clients map[netip.Addr]int
	// idle lists the idle keep-alive connections, longest idle first.
	idleHead, idleTail *limitedConn

	stats   *connStats
	lastLog atomic.Int64 // unix nanoseconds of the last warning
}

// connStats are the limiter's counts, exported as metrics.
type connStats struct {
	open             atomic.Int64
	refused, evicted atomic.Uint64
}

func newConnLimiter(ln net.Listener, maxTotal, perClient int, log *slog.Logger, stats *connStats) *connLimiter {
	if stats == nil {
		stats = &connStats{}
	}
	return &connLimiter{Listener: ln, max: maxTotal, perClient: perClient, log: log, clients: map[netip.Addr]int{}, stats: stats}
}

// limitedConn is a connection the limiter counts until it is closed.
type limitedConn struct {
	net.Conn
	l      *connLimiter
	ip     netip.Addr
	closed atomic.Bool
	idle   bool // guarded by l.mu, as are the links
	prev   *limitedConn
	next   *limitedConn
}

// Close releases the connection's place, once.
func (c *limitedConn) Close() error {
	if c.closed.CompareAndSwap(false, true) {
		c.l.release(c)
	}
	return c.Conn.Close()
}

// Accept returns the next connection within the caps. Connections over
// them are refused here, in the loop, without a goroutine.
func (l *connLimiter) Accept() (net.Conn, error) {
	for {
		conn, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		ip := remoteIP(conn)
		c, victim, why := l.admit(conn, ip)
		if victim != nil {
			victim.Close() // its place is ours already
		}
		if c != nil {
			return c, nil
		}
		l.refuse(conn, ip, why)
	}
}

// admit counts conn in if the caps allow, taking the place of an idle
// connection (returned, to close) if need be; else it says which cap.
func (l *connLimiter) admit(conn net.Conn, ip netip.Addr) (c, victim *limitedConn, why string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.clients[ip] >= l.perClient {
		if victim = l.oldestIdle(ip, true); victim == nil {
			return nil, nil, fmt.Sprintf("too many connections from %s (limit %d per client)", ip, l.perClient)
		}
	} else if l.total >= l.max {
		if victim = l.oldestIdle(ip, false); victim == nil {
			return nil, nil, fmt.Sprintf("too many connections (limit %d)", l.max)
		}
	}
	if victim != nil {
		l.forget(victim) // its place is the new one's: its Close releases nothing more
		l.stats.evicted.Add(1)
	}
	l.stats.open.Add(1)
	l.total++
	l.clients[ip]++
	return &limitedConn{Conn: conn, l: l, ip: ip}, victim, ""
}

// oldestIdle claims the longest idle connection (of ip when sameClient)
// for closing. One being closed already is left to its own Close.
func (l *connLimiter) oldestIdle(ip netip.Addr, sameClient bool) *limitedConn {
	for c := l.idleHead; c != nil; c = c.next {
		if (!sameClient || c.ip == ip) && c.closed.CompareAndSwap(false, true) {
			return c
		}
	}
	return nil
}

func (l *connLimiter) release(c *limitedConn) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.forget(c)
}

// forget takes c out of the counts and the idle list; l.mu is held.
func (l *connLimiter) forget(c *limitedConn) {
	l.unlinkIdle(c)
	l.stats.open.Add(-1)
	l.total--
	if l.clients[c.ip]--; l.clients[c.ip] <= 0 {
		delete(l.clients, c.ip)
	}
}

// connState follows the server's view of each connection: an idle
// keep-alive connection may give its place to a new one.
func (l *connLimiter) connState(nc net.Conn, st http.ConnState) {
	if tc, ok := nc.(*tls.Conn); ok {
		nc = tc.NetConn()
	}
	c, ok := nc.(*limitedConn)
	if !ok {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if st == http.StateIdle && !c.closed.Load() && !c.idle {
		c.idle, c.prev = true, l.idleTail
		if l.idleTail != nil {
			l.idleTail.next = c
		} else {
			l.idleHead = c
		}
		l.idleTail = c
		return
	}
	if st != http.StateIdle {
		l.unlinkIdle(c)
	}
}

// unlinkIdle takes c out of the idle list; l.mu is held.
func (l *connLimiter) unlinkIdle(c *limitedConn) {
	if !c.idle {
		return
	}
	if c.prev != nil {
		c.prev.next = c.next
	} else {
		l.idleHead = c.next
	}
	if c.next != nil {
		c.next.prev = c.prev
	} else {
		l.idleTail = c.prev
	}
	c.idle, c.prev, c.next = false, nil, nil
}

// refuse answers 503 on a connection over a cap and closes it. The answer
// fits an empty socket buffer: the write does not wait. What the client
// already sent is read first (without waiting) so that the close sends a
// FIN rather than a reset that could destroy the answer.
func (l *connLimiter) refuse(conn net.Conn, ip netip.Addr, why string) {
	// Counted first: a client that got its 503 must find it counted.
	n := l.stats.refused.Add(1)
	body := fmt.Sprintf(`{"error":{"code":"TooManyConnections","message":%q}}`+"\n", why+"; try again later")
	_ = conn.SetWriteDeadline(time.Now().Add(100 * time.Millisecond))
	_, _ = fmt.Fprintf(conn, "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nRetry-After: 1\r\n"+
		"Connection: close\r\nContent-Length: %d\r\n\r\n%s", len(body), body)
	drainNow(conn)
	_ = conn.Close()
	now := time.Now().UnixNano()
	if last := l.lastLog.Load(); now-last >= int64(refusalLogEvery) && l.lastLog.CompareAndSwap(last, now) {
		l.log.Warn("refusing API connections over the caps", "reason", why, "client", ip.String(),
			"refused_total", n, "idle_closed_total", l.stats.evicted.Load())
	}
}

// drainNow reads what conn has received so far, without blocking.
func drainNow(conn net.Conn) {
	sc, ok := conn.(syscall.Conn)
	if !ok {
		return
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return
	}
	var buf [4096]byte
	_ = raw.Read(func(fd uintptr) bool {
		for range 16 {
			if n, _, err := syscall.Recvfrom(int(fd), buf[:], syscall.MSG_DONTWAIT); n <= 0 || err != nil {
				break
			}
		}
		return true
	})
}

// remoteIP is the client's address, IPv4-mapped ones unmapped.
func remoteIP(c net.Conn) netip.Addr {
	if ap, err := netip.ParseAddrPort(c.RemoteAddr().String()); err == nil {
		return ap.Addr().Unmap()
	}
	return netip.Addr{}
}

// counts reports the open connections, in total and from ip.
func (l *connLimiter) counts(ip netip.Addr) (total, fromIP int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.total, l.clients[ip]
}

// registerConnMetrics exports the connection counts: how close the API
// runs to its caps, and what they turned away.
func (s *Server) registerConnMetrics(reg prometheus.Registerer) {
	reg.MustRegister(
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "proclet_api_connections",
			Help: "Open API connections (the cap is --max-connections)."},
			func() float64 { return float64(s.conns.open.Load()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "proclet_api_connections_max",
			Help: "The cap on open API connections, --max-connections."},
			func() float64 { return float64(s.maxConns) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "proclet_api_connections_refused_total",
			Help: "API connections refused with 503 over the connection caps."},
			func() float64 { return float64(s.conns.refused.Load()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "proclet_api_connections_idle_closed_total",
			Help: "Idle keep-alive API connections closed to make room for new ones."},
			func() float64 { return float64(s.conns.evicted.Load()) }),
	)
}
