package runtime

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"proclet.dev/proclet/apis/v1alpha1"
)

// probeBodyLimit is the most of a response body an HTTP probe reads (the
// kubelet's limit). The rest is never read: the connection is closed.
const probeBodyLimit = 10 << 10

// httpProbe is an httpGet probe: a GET on one URL; 200-399 is success. It
// keeps no connection alive, reads at most probeBodyLimit of the body,
// skips TLS verification (as the kubelet does) and uses no proxy.
// Redirects are followed to the same host; a redirect to another host is
// not followed and counts as a success, with a warning.
type httpProbe struct {
	url    string
	host   string // the Host header, when httpHeaders set one
	header http.Header
	client *http.Client
}

func newHTTPProbe(a *v1alpha1.HTTPGetAction, port int) *httpProbe {
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

	p := &httpProbe{url: u.String(), header: http.Header{}}
	for _, h := range a.HTTPHeaders {
		if http.CanonicalHeaderKey(h.Name) == "Host" {
			p.host = h.Value
			continue
		}
		p.header.Add(h.Name, h.Value)
	}
	if _, ok := p.header["User-Agent"]; !ok {
		p.header.Set("User-Agent", "proclet-probe")
	}
	if _, ok := p.header["Accept"]; !ok {
		p.header.Set("Accept", "*/*")
	}
	p.client = &http.Client{
		Transport: &http.Transport{
			Proxy:              nil, // never through HTTP_PROXY: the instance is local
			DialContext:        (&net.Dialer{}).DialContext,
			TLSClientConfig:    &tls.Config{InsecureSkipVerify: true}, //nolint:gosec // as the kubelet
			DisableKeepAlives:  true,
			DisableCompression: true,
		},
		CheckRedirect: sameHostRedirects,
	}
	return p
}

// sameHostRedirects follows a redirect only to the host of the first
// request (the kubelet's rule), at most 10 times.
func sameHostRedirects(req *http.Request, via []*http.Request) error {
	if req.URL.Hostname() != via[0].URL.Hostname() {
		return http.ErrUseLastResponse
	}
	if len(via) >= 10 {
		return errors.New("stopped after 10 redirects")
	}
	return nil
}

func (p *httpProbe) probe(ctx context.Context) probeResult {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.url, nil)
	if err != nil {
		return probeResult{msg: err.Error()}
	}
	req.Header = p.header.Clone()
	if p.host != "" {
		req.Host = p.host
	}
	req.Close = true
	res, err := p.client.Do(req)
	if err != nil {
		return probeResult{msg: err.Error()}
	}
	defer res.Body.Close()
	if _, err := io.Copy(io.Discard, io.LimitReader(res.Body, probeBodyLimit)); err != nil {
		return probeResult{msg: fmt.Sprintf("HTTP %d, reading the body: %v", res.StatusCode, err)}
	}
	switch code := res.StatusCode; {
	case code < 200 || code >= 400:
		return probeResult{msg: "HTTP " + strconv.Itoa(code)}
	case code >= 300 && res.Header.Get("Location") != "":
		return probeResult{ok: true, msg: fmt.Sprintf("HTTP %d: redirect to another host not followed: %s", code, res.Header.Get("Location"))}
	}
	return probeResult{ok: true}
}
