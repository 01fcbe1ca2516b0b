package probe

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"sync"
	"time"
)

// probeHeaderLimit bounds the status line and header of a probe's
// response (net/http's Transport allows 10 MB; a health check needs far
// less, and the prober's memory stays bounded).
const probeHeaderLimit = 64 << 10

// httpResponse is what a probe needs of a response.
type httpResponse struct {
	code     int
	location string // the Location header, for 3xx
	bodyErr  error  // reading the body (at most probeBodyLimit of it) failed
}

// probeReaders are the buffered readers of probe responses, reused.
var probeReaders = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, 4<<10) }}

// probeGET is the request http.ReadResponse frames responses for.
var probeGET = &http.Request{Method: http.MethodGet}

// aLongTimeAgo is a deadline in the past: it makes a blocked read or write
// return at once.
var aLongTimeAgo = time.Unix(1, 0)

// get sends req, a GET of u, on a new connection and reads the response:
// its status line and header, then at most probeBodyLimit of its body. It
// runs in the caller's goroutine and closes the connection before it
// returns. It returns when ctx is done at the latest: the connection
// carries ctx's deadline, and a cancellation expires it.
func (p *httpProbe) get(ctx context.Context, u *url.URL, req []byte) (httpResponse, error) {
	tlsConfig, addr, err := p.target(u)
	if err != nil {
		return httpResponse{}, err
	}
	raw, err := probeDialer.DialContext(ctx, "tcp", addr)
	if err != nil {
		return httpResponse{}, ctxErr(ctx, err)
	}
	conn := raw
	defer func() { conn.Close() }()
	if d, ok := ctx.Deadline(); ok {
		raw.SetDeadline(d)
	}
	if ctx.Done() != nil {
		stop := context.AfterFunc(ctx, func() { raw.SetDeadline(aLongTimeAgo) })
		defer stop()
	}
	if tlsConfig != nil {
		tc := tls.Client(raw, tlsConfig)
		conn = tc
		// Handshake, not HandshakeContext: raw's deadline and the
		// AfterFunc above bound it already, without a goroutine.
		if err := tc.Handshake(); err != nil {
			return httpResponse{}, ctxErr(ctx, err)
		}
	}
	if _, err := conn.Write(req); err != nil {
		return httpResponse{}, ctxErr(ctx, err)
	}

	lr := &io.LimitedReader{R: conn, N: probeHeaderLimit}
	br := probeReaders.Get().(*bufio.Reader)
	br.Reset(lr)
	defer func() {
		br.Reset(nil)
		probeReaders.Put(br)
	}()
	var res *http.Response
	for range 5 { // 1xx informational responses come before the response (net/http skips up to 5)
		res, err = http.ReadResponse(br, probeGET)
		if err != nil {
			cerr := ctxErr(ctx, err)
			switch {
			case lr.N <= 0:
				return httpResponse{}, fmt.Errorf("response header over %d KiB", probeHeaderLimit>>10)
			case lr.N == probeHeaderLimit && cerr == err: // not a timeout
				return httpResponse{}, fmt.Errorf("connection closed before a response: %w", err)
			}
			return httpResponse{}, cerr
		}
		if res.StatusCode >= 200 || res.StatusCode == http.StatusSwitchingProtocols {
			break
		}
	}
	out := httpResponse{code: res.StatusCode, location: res.Header.Get("Location")}
	if followsRedirect(out.code) && out.location != "" {
		return out, nil // followed or not, its body does not matter
	}
	lr.N = 1<<63 - 1 // the body has its own limit
	if _, err := io.Copy(io.Discard, io.LimitReader(res.Body, probeBodyLimit)); err != nil {
		out.bodyErr = ctxErr(ctx, err)
	}
	return out, nil
}

// target is the address to dial for u, and the TLS config to use on it
// (nil for http).
func (p *httpProbe) target(u *url.URL) (*tls.Config, string, error) {
	host, port := u.Hostname(), u.Port()
	var cfg *tls.Config
	switch u.Scheme {
	case "http":
		if port == "" {
			port = "80"
		}
	case "https":
		if port == "" {
			port = "443"
		}
		cfg = probeTLS.Clone()
		cfg.ServerName = host
	default:
		return nil, "", fmt.Errorf("unsupported protocol scheme %q", u.Scheme)
	}
	return cfg, net.JoinHostPort(host, port), nil
}

// ctxErr is err, or ctx's error when ctx ended the I/O (a deadline or a
// cancellation shows as an I/O timeout on the connection).
func ctxErr(ctx context.Context, err error) error {
	if cerr := ctx.Err(); cerr != nil {
		return cerr
	}
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return context.DeadlineExceeded // the connection's deadline is ctx's
	}
	return err
}
