package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"proclet.dev/proclet/apis/v1alpha1"
)

// requestTimeout bounds every request but a log follow.
const requestTimeout = 30 * time.Second

// maxErrorBody is how much of a non-JSON error answer is read and shown.
const maxErrorBody = 512

// Client talks to one proclet daemon. It is safe for concurrent use.
type Client struct {
	base   string // scheme://host[:port][/prefix], no trailing slash
	apiKey string
	http   *http.Client
}

// New returns a client of the daemon at baseURL ("http://127.0.0.1:9090";
// a bare host:port gets "http://"). apiKey, when not empty, is sent as
// "Authorization: Bearer KEY" and never shown in an error.
func New(baseURL, apiKey string) *Client {
	base := strings.TrimRight(strings.TrimSpace(baseURL), "/")
	if !strings.Contains(base, "://") {
		base = "http://" + base
	}
	// No client-wide timeout: a log follow lasts as long as its context.
	return &Client{base: base, apiKey: apiKey, http: &http.Client{}}
}

// BaseURL returns the daemon's URL as the client uses it.
func (c *Client) BaseURL() string { return c.base }

// itemList is the {"items": [...]} envelope of every collection.
type itemList[T any] struct {
	Items []T `json:"items"`
}

// Apps returns every app with its status (GET /api/v1/apps).
func (c *Client) Apps(ctx context.Context) ([]v1alpha1.App, error) {
	var l itemList[v1alpha1.App]
	err := c.getJSON(ctx, "/api/v1/apps", nil, &l)
	return l.Items, err
}

// App returns one app (GET /api/v1/apps/{app}); a missing app is an
// *APIError that IsNotFound.
func (c *Client) App(ctx context.Context, name string) (v1alpha1.App, error) {
	var a v1alpha1.App
	err := c.getJSON(ctx, "/api/v1/apps/"+url.PathEscape(name), nil, &a)
	return a, err
}

// Instances returns the instances of app, or of every app when app is "".
func (c *Client) Instances(ctx context.Context, app string) ([]v1alpha1.Instance, error) {
	path := "/api/v1/instances"
	if app != "" {
		path = "/api/v1/apps/" + url.PathEscape(app) + "/instances"
	}
	var l itemList[v1alpha1.Instance]
	err := c.getJSON(ctx, path, nil, &l)
	return l.Items, err
}

// Manifests returns every manifest file the daemon read, with its problem.
func (c *Client) Manifests(ctx context.Context) ([]v1alpha1.FileStatus, error) {
	var l itemList[v1alpha1.FileStatus]
	err := c.getJSON(ctx, "/api/v1/manifests", nil, &l)
	return l.Items, err
}

// Events returns the daemon's recent events, newest first: of app only
// when app is not "", at most limit when limit > 0.
func (c *Client) Events(ctx context.Context, app string, limit int) ([]v1alpha1.Event, error) {
	q := url.Values{}
	if app != "" {
		q.Set("app", app)
	}
	if limit > 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	var l itemList[v1alpha1.Event]
	err := c.getJSON(ctx, "/api/v1/events", q, &l)
	return l.Items, err
}

// Logs opens the output of one instance: stream is "stdout" or "stderr"
// ("" is the daemon's default, stdout); tail < 0 means the whole file;
// follow keeps the answer open for new lines until ctx ends or the caller
// closes the reader. The caller must close it.
func (c *Client) Logs(ctx context.Context, app, instance, stream string, tail int, follow bool) (io.ReadCloser, error) {
	q := url.Values{}
	if stream != "" {
		q.Set("stream", stream)
	}
	if tail >= 0 {
		q.Set("tail", strconv.Itoa(tail))
	}
	if follow {
		q.Set("follow", "true")
	}
	path := "/api/v1/apps/" + url.PathEscape(app) + "/instances/" + url.PathEscape(instance) + "/logs"
	resp, err := c.do(ctx, path, q)
	if err != nil {
		return nil, err
	}
	return resp.Body, nil
}

// getJSON GETs path and decodes the JSON answer into v.
func (c *Client) getJSON(ctx context.Context, path string, q url.Values, v any) error {
	ctx, cancel := context.WithTimeout(ctx, requestTimeout)
	defer cancel()
	resp, err := c.do(ctx, path, q)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		return fmt.Errorf("GET %s: reading the answer: %w", path, err)
	}
	return nil
}

// do sends a GET and returns a 2xx answer, or the error it stands for
// (the body is then closed).
func (c *Client) do(ctx context.Context, path string, q url.Values) (*http.Response, error) {
	u := c.base + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, fmt.Errorf("server URL %q: %w", c.base, err)
	}
	req.Header.Set("Accept", "application/json")
	if c.apiKey != "" {
		req.Header.Set("Authorization", "Bearer "+c.apiKey)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			return nil, ctxErr
		}
		if tlsErr := tlsProblem(c.base, err); tlsErr != nil {
			return nil, tlsErr
		}
		return nil, &UnreachableError{URL: c.base, Err: err}
	}
	if resp.StatusCode/100 == 2 {
		return resp, nil
	}
	defer resp.Body.Close()
	return nil, c.errorOf(resp)
}

// errorOf turns a non-2xx answer into a readable error.
func (c *Client) errorOf(resp *http.Response) error {
	if resp.StatusCode == http.StatusUnauthorized {
		return &UnauthorizedError{KeySent: c.apiKey != ""}
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	var e struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if json.Unmarshal(body, &e) == nil && e.Error.Message != "" {
		return &APIError{Status: resp.StatusCode, Code: e.Error.Code, Message: e.Error.Message}
	}
	msg := fmt.Sprintf("proclet at %s answered %s", c.base, resp.Status)
	if text := strings.TrimSpace(string(body)); text != "" {
		if len(text) > maxErrorBody {
			text = text[:maxErrorBody] + "..."
		}
		msg += ": " + text
	}
	return &APIError{Status: resp.StatusCode, Message: msg}
}

func asAPIError(err error) (*APIError, bool) {
	var ae *APIError
	ok := errors.As(err, &ae)
	return ae, ok
}
