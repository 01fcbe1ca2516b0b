package client

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
)

// Node is GET /api/v1/node: who a daemon is and what it runs from. A
// daemon that predates the endpoint answers 404 (IsNotFound), and a
// fleet client then names it by its address.
type Node struct {
	Name             string            `json:"name"`
	Labels           map[string]string `json:"labels,omitempty"`
	AdvertiseAddress string            `json:"advertiseAddress,omitempty"`
	Version          string            `json:"version,omitempty"`
	Source           NodeSource        `json:"source"`
	Synced           bool              `json:"synced"`
	Counts           json.RawMessage   `json:"counts,omitempty"`
}

// NodeSource is the manifests folder a daemon reads and, when it is a
// symlink (git-sync), its target and the commit that target is named after.
type NodeSource struct {
	Folder         string `json:"folder"`
	Target         string `json:"target,omitempty"`
	SourceRevision string `json:"sourceRevision,omitempty"`
}

// TargetGroup is one group of Prometheus' HTTP and file service discovery,
// as GET /api/v1/targets answers it.
type TargetGroup struct {
	Targets []string          `json:"targets"`
	Labels  map[string]string `json:"labels"`
}

// Node returns the daemon's node (GET /api/v1/node).
func (c *Client) Node(ctx context.Context) (Node, error) {
	var n Node
	err := c.getJSON(ctx, "/api/v1/node", nil, &n)
	return n, err
}

// Targets returns the daemon's Prometheus targets (GET /api/v1/targets).
func (c *Client) Targets(ctx context.Context) ([]TargetGroup, error) {
	var groups []TargetGroup
	err := c.getJSON(ctx, "/api/v1/targets", nil, &groups)
	return groups, err
}

// Host is the host:port the client talks to (the base URL without its
// scheme and path): what a fleet command calls a daemon that has no name.
func (c *Client) Host() string {
	if u, err := url.Parse(c.base); err == nil && u.Host != "" {
		return u.Host
	}
	return c.base
}

// Bounded returns a copy of c whose every answer body is cut at maxBody
// bytes: reading past it fails with an error that names the daemon and the
// bound, so that one daemon cannot make a client of many hosts hold an
// unbounded answer. c itself is not changed.
func (c *Client) Bounded(maxBody int64) *Client {
	cc := *c
	hc := *c.http
	base := hc.Transport
	if base == nil {
		base = http.DefaultTransport
	}
	hc.Transport = &boundedTransport{base: base, max: maxBody}
	cc.http = &hc
	return &cc
}

// boundedTransport wraps every answer's body in a boundedBody.
type boundedTransport struct {
	base http.RoundTripper
	max  int64
}

func (t *boundedTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.base.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	resp.Body = &boundedBody{rc: resp.Body, left: t.max, max: t.max, host: req.URL.Host}
	return resp, nil
}

// boundedBody reads at most max bytes, then fails with ErrTooLarge.
type boundedBody struct {
	rc        io.ReadCloser
	left, max int64
	host      string
}

// AnswerTooLargeError is an answer longer than a Bounded client accepts.
type AnswerTooLargeError struct {
	Host string
	Max  int64
}

func (e *AnswerTooLargeError) Error() string {
	return fmt.Sprintf("the answer of %s is larger than %d bytes: not read further", e.Host, e.Max)
}

func (b *boundedBody) Read(p []byte) (int, error) {
	if b.left <= 0 {
		// One byte more tells a body of exactly max bytes from a longer one.
		var one [1]byte
		if n, _ := b.rc.Read(one[:]); n == 0 {
			return 0, io.EOF
		}
		return 0, &AnswerTooLargeError{Host: b.host, Max: b.max}
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.rc.Read(p)
	b.left -= int64(n)
	return n, err
}

func (b *boundedBody) Close() error { return b.rc.Close() }
