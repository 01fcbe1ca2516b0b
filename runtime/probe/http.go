package probe

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"proclet.dev/proclet/apis/v1alpha1"
)

const (
	// probeBodyLimit is the most of a response body an HTTP probe reads (the
	// kubelet's limit). The rest is never read: the connection is closed.
	probeBodyLimit = 10 << 10
	// probeMaxRequests bounds a run's requests: the first and up to 9
	// redirects, as net/http's default policy (the kubelet's).
	probeMaxRequests = 10
	// probeUserAgent is the User-Agent of probe requests unless the probe
	// sets one.
	probeUserAgent = "proclet-probe"
)

// httpProbe is an httpGet probe: a GET on one URL; 200-399 is success. It
// keeps no connection alive, reads at most probeBodyLimit of the body,
// skips TLS verification (as the kubelet does) and uses no proxy.
// Redirects (301, 302, 303, 307, 308) are followed to the same host name;
// a redirect to another host is not followed and counts as a success,
// with a warning.
//
// It speaks HTTP/1.1 itself (httpmin.go) rather than through
// net/http's Client: one dial, one write, the response read in the
// caller's goroutine, one close — no Transport, no connection goroutines;
// about half the CPU and a sixth of the allocated bytes of a run through
// net/http (BenchmarkHTTPProbeProcess).
type httpProbe struct {
	url  *url.URL // the first request's
	host string   // the Host header set by httpHeaders; "" for the URL's host
	// header is the request's header lines after Host, each ending in
	// CRLF: User-Agent, Accept, the probe's httpHeaders, Connection:
	// close.
	header string
	// referer: httpHeaders set a Referer (redirects keep it rather than
	// setting their own, as net/http).
	referer bool
	req     []byte // the first request, built once
	// invalid, when set, fails every run: a header that cannot be sent.
	invalid string

	poll *pollTarget // nil: not for the poller (https, a host name, an invalid header)
}

// probeHeader is the header lines of a probe that sets no httpHeaders.
const probeHeader = "User-Agent: " + probeUserAgent + "\r\nAccept: */*\r\nConnection: close\r\n"

// probeDialer dials the connections of the probes the poller does not
// run, one for all: no keep-alive probes (a probe's connection lives a
// few milliseconds, and they cost four setsockopt calls a dial).
var probeDialer = net.Dialer{KeepAlive: -1}

// probeTLS is the TLS config of https probes, cloned per request (with
// its ServerName): shared rather than one per probe, which would be
// a kilobyte of heap per instance.
var probeTLS = &tls.Config{InsecureSkipVerify: true} //nolint:gosec // as the kubelet

func NewHTTP(a *v1alpha1.HTTPGetAction, port int) *httpProbe {
	host := a.Host
	if host == "" {
		host = probeHost
	}
	scheme := strings.ToLower(a.Scheme)
	if scheme == "" {
		scheme = "http"
	}
	path := a.Path
	if path == "" {
		path = "/"
	}
	u, err := url.Parse(path) // the path may carry a query
	if err != nil {
		u = &url.URL{Path: path}
	}
	u.Scheme, u.Host = scheme, net.JoinHostPort(host, strconv.Itoa(port))

	p := &httpProbe{url: u}
	var b strings.Builder
	userAgent, accept := false, false
	for _, h := range a.HTTPHeaders {
		name := http.CanonicalHeaderKey(h.Name)
		switch {
		case !validHeaderName(h.Name):
			p.invalid = fmt.Sprintf("invalid header field name %q", h.Name)
		case !validHeaderValue(h.Value):
			p.invalid = fmt.Sprintf("invalid header field value for %q", h.Name)
		}
		switch name {
		case "Host":
			p.host = h.Value
			continue
		case "Connection", "Content-Length", "Transfer-Encoding", "Trailer":
			continue // the request's framing is the prober's: no body, no keep-alive
		case "User-Agent":
			userAgent = true
			if h.Value == "" {
				continue // an empty User-Agent sends none, as net/http
			}
		case "Accept":
			accept = true
		case "Referer":
			p.referer = true
		}
		b.WriteString(name + ": " + h.Value + "\r\n")
	}
	custom := b.String()
	b.Reset()
	if !userAgent {
		b.WriteString("User-Agent: " + probeUserAgent + "\r\n")
	}
	if !accept {
		b.WriteString("Accept: */*\r\n")
	}
	b.WriteString(custom)
	b.WriteString("Connection: close\r\n")
	p.header = b.String()
	if p.header == probeHeader {
		p.header = probeHeader // shared, not one copy per probe
	}
	p.req = p.request(u, p.requestHost(u), "")
	if scheme == "http" && p.invalid == "" {
		if t := newPollTarget(host, port); t != nil {
			t.req, t.get, t.http = p.req, fmt.Sprintf("Get %q: ", u.Redacted()), p
			p.poll = t
		}
	}
	return p
}

func (p *httpProbe) pollTarget() *pollTarget { return p.poll }

// requestHost is the Host header of the first request to u.
func (p *httpProbe) requestHost(u *url.URL) string {
	if p.host != "" {
		return p.host
	}
	return u.Host
}

// request is a GET of u with header host, p's header lines and, if not
// empty, a Referer.
func (p *httpProbe) request(u *url.URL, host, referer string) []byte {
	uri := u.RequestURI()
	n := len("GET  HTTP/1.1\r\nHost: \r\n\r\n") + len(uri) + len(host) + len(p.header)
	if referer != "" {
		n += len("Referer: \r\n") + len(referer)
	}
	b := make([]byte, 0, n)
	b = append(b, "GET "...)
	b = append(b, uri...)
	b = append(b, " HTTP/1.1\r\nHost: "...)
	b = append(b, host...)
	b = append(b, "\r\n"...)
	if referer != "" {
		b = append(b, "Referer: "...)
		b = append(b, referer...)
		b = append(b, "\r\n"...)
	}
	b = append(b, p.header...)
	return append(b, "\r\n"...)
}

func (p *httpProbe) Probe(ctx context.Context) Result {
	if p.invalid != "" {
		return Result{Msg: p.invalid}
	}
	return p.from(ctx, nil)
}

// from runs the requests of a run, the first one's response already read
// (by the poller) when first is not nil: redirects are followed from it.
func (p *httpProbe) from(ctx context.Context, first *httpResponse) Result {
	u, host, req := p.url, p.requestHost(p.url), p.req
	for n := 1; ; n++ {
		var res httpResponse
		if first != nil {
			res, first = *first, nil
		} else {
			var err error
			if res, err = p.get(ctx, u, req); err != nil {
				return Result{Msg: fmt.Sprintf("Get %q: %v", u.Redacted(), err)}
			}
		}
		if !followsRedirect(res.code) || res.location == "" {
			return res.result()
		}
		next, err := u.Parse(res.location)
		if err != nil {
			return Result{Msg: fmt.Sprintf("Get %q: failed to parse Location header %q: %v", u.Redacted(), res.location, err)}
		}
		if next.Hostname() != p.url.Hostname() {
			// The kubelet's rule: another host is not followed, and a
			// redirect is a success.
			return Result{OK: true, Msg: fmt.Sprintf("HTTP %d: redirect to another host not followed: %s", res.code, res.location)}
		}
		if n >= probeMaxRequests {
			return Result{Msg: fmt.Sprintf("Get %q: stopped after %d redirects", u.Redacted(), probeMaxRequests)}
		}
		// As net/http: a custom Host header survives a relative redirect
		// only; a Referer names the last URL unless https -> http.
		if l, _ := url.Parse(res.location); host == u.Host || l == nil || l.IsAbs() {
			host = next.Host
		}
		referer := ""
		if !p.referer && (u.Scheme != "https" || next.Scheme != "http") {
			r := *u
			r.User = nil
			referer = r.String()
		}
		u, req = next, p.request(next, host, referer)
	}
}

// followsRedirect: net/http's client follows a GET's redirect with this
// status (and a Location).
func followsRedirect(code int) bool {
	switch code {
	case 301, 302, 303, 307, 308:
		return true
	}
	return false
}

// result is the probe result of the response that ended a run.
func (r httpResponse) result() Result {
	switch code := r.code; {
	case r.bodyErr != nil:
		return Result{Msg: fmt.Sprintf("HTTP %d, reading the body: %v", code, r.bodyErr)}
	case code < 200 || code >= 400:
		return Result{Msg: "HTTP " + strconv.Itoa(code)}
	case code >= 300 && r.location != "":
		return Result{OK: true, Msg: fmt.Sprintf("HTTP %d: redirect to another host not followed: %s", code, r.location)}
	}
	return Result{OK: true}
}

// validHeaderName: name is an HTTP token (RFC 7230).
func validHeaderName[T string | []byte](name T) bool {
	if len(name) == 0 {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0:
		default:
			return false
		}
	}
	return true
}

// validHeaderValue: value holds no control character but tab, so it
// cannot end the header line early.
func validHeaderValue[T string | []byte](value T) bool {
	for i := 0; i < len(value); i++ {
		if c := value[i]; (c < ' ' && c != '\t') || c == 0x7f {
			return false
		}
	}
	return true
}
