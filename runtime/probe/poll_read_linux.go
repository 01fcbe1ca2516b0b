//go:build linux

package probe

import (
	"context"
	"fmt"
	"net"

	"golang.org/x/sys/unix"
)

// timedOut is the result of a run past its timeout, as the full client
// (HTTP) or the dialer (TCP) says it.
func (c *pconn) timedOut() Result {
	switch {
	case c.t.req == nil:
		return Result{Msg: "dial tcp " + c.t.addr + ": i/o timeout"}
	case c.parsed:
		return Result{Msg: fmt.Sprintf("HTTP %d, reading the body: context deadline exceeded", c.resp.code)}
	}
	return Result{Msg: c.t.get + "context deadline exceeded"}
}

// opError is err as net's *OpError on the connection of c says it.
func (p *poller) opError(c *pconn, op string, err error) string {
	local := "?"
	if sa, e := unix.Getsockname(c.fd); e == nil {
		switch sa := sa.(type) {
		case *unix.SockaddrInet4:
			local = (&net.TCPAddr{IP: sa.Addr[:], Port: sa.Port}).String()
		case *unix.SockaddrInet6:
			local = (&net.TCPAddr{IP: sa.Addr[:], Port: sa.Port}).String()
		}
	}
	return op + " tcp " + local + "->" + c.t.addr + ": " + op + ": " + err.Error()
}

// read reads what the server sent: the header into c.hdr (up to
// probeHeaderLimit), then the body into p.scratch, dropped, up to what
// parseQuick allows; the run ends with the last byte wanted, the close,
// an error, or its timeout.
func (p *poller) read(c *pconn) {
	for {
		var buf []byte
		if !c.parsed {
			if c.hdr == nil {
				if n := len(p.free); n > 0 {
					c.hdr, p.free = p.free[n-1], p.free[:n-1]
				} else {
					c.hdr = make([]byte, 0, 4<<10)
				}
			}
			if len(c.hdr) == cap(c.hdr) {
				if cap(c.hdr) >= probeHeaderLimit {
					p.finish(c, Result{Msg: c.t.get + fmt.Sprintf("response header over %d KiB", probeHeaderLimit>>10)})
					return
				}
				grown := make([]byte, len(c.hdr), min(2*cap(c.hdr), probeHeaderLimit))
				copy(grown, c.hdr)
				if cap(c.hdr) == 4<<10 {
					p.free = append(p.free, c.hdr[:0])
				}
				c.hdr = grown
			}
			buf = c.hdr[len(c.hdr):cap(c.hdr)]
		} else {
			buf = p.scratch[:min(int64(len(p.scratch)), c.resp.body-c.got)]
		}
		n, err := rawRead(c.fd, buf)
		switch {
		case err == unix.EINTR:
			continue
		case err == unix.EAGAIN:
			return
		case err != nil:
			p.readFailed(c, err)
			return
		case n == 0:
			p.eof(c)
			return
		}
		if c.parsed {
			c.got += int64(n)
		} else if c.hdr = c.hdr[:len(c.hdr)+n]; !p.parse(c) {
			return
		}
		if c.parsed && c.got >= c.resp.body {
			p.finish(c, httpResponse{code: c.resp.code, location: c.resp.location}.result())
			return
		}
	}
}

// parse parses the header of c once complete; false when the run went
// to the pool.
func (p *poller) parse(c *pconn) bool {
	end, bare := headerEnd(c.hdr)
	if bare { // a line ended by LF alone: net/http's
		p.fallback(c)
		return false
	}
	if end == 0 {
		return true // more to come
	}
	r, ok := parseQuick(c.hdr[:end])
	if !ok {
		p.fallback(c)
		return false
	}
	if followsRedirect(r.code) && r.location != "" {
		// Followed by the full client, from this response (its body
		// does not matter).
		l, hp := c.l, c.t.http
		p.release(c)
		l.resume = func(ctx context.Context) Result {
			return hp.from(ctx, &httpResponse{code: r.code, location: r.location})
		}
		p.inc.runInPool(p.s, l)
		return false
	}
	c.resp, c.parsed = r, true
	c.got = min(int64(len(c.hdr)-end), r.body)
	if cap(c.hdr) == 4<<10 {
		p.free = append(p.free, c.hdr[:0])
	}
	c.hdr = nil
	return true
}

// eof ends the run of c at the server's close.
func (p *poller) eof(c *pconn) {
	switch {
	case c.parsed && c.resp.toEOF:
		p.finish(c, httpResponse{code: c.resp.code, location: c.resp.location}.result())
	case c.parsed:
		p.finish(c, Result{Msg: fmt.Sprintf("HTTP %d, reading the body: unexpected EOF", c.resp.code)})
	case len(c.hdr) == 0:
		p.finish(c, Result{Msg: c.t.get + "connection closed before a response: unexpected EOF"})
	default: // a partial header: net/http says what is wrong with it
		p.fallback(c)
	}
}

// readFailed ends the run of c on a read error.
func (p *poller) readFailed(c *pconn, err error) {
	msg := p.opError(c, "read", err)
	switch {
	case c.parsed:
		msg = fmt.Sprintf("HTTP %d, reading the body: %s", c.resp.code, msg)
	case len(c.hdr) == 0:
		msg = c.t.get + "connection closed before a response: " + msg
	default:
		msg = c.t.get + msg
	}
	p.finish(c, Result{Msg: msg})
}
