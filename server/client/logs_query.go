package client

import (
	"context"
	"io"
	"net/url"
	"strconv"
)

// LogQuery is what a logs request asks for (see docs/api.md).
type LogQuery struct {
	Stream     string // stdout (""), or stderr
	Tail       int    // lines from the end; < 0: all
	Follow     bool
	Previous   bool   // the previous run's lines
	Timestamps bool   // each line prefixed with the time it was read
	Since      string // a duration back from now (10m) or an RFC 3339 time; "": all
	JSON       bool   // JSON lines: time, stream, instance, line
	Init       string // the output of this init step instead of the command's; "": the command's
}

// LogsQuery opens the output of one instance as q asks; the caller must
// close it.
func (c *Client) LogsQuery(ctx context.Context, app, instance string, q LogQuery) (io.ReadCloser, error) {
	v := url.Values{}
	if q.Stream != "" {
		v.Set("stream", q.Stream)
	}
	if q.Tail >= 0 {
		v.Set("tail", strconv.Itoa(q.Tail))
	}
	for name, b := range map[string]bool{"follow": q.Follow, "previous": q.Previous, "timestamps": q.Timestamps} {
		if b {
			v.Set(name, "true")
		}
	}
	if q.Since != "" {
		v.Set("since", q.Since)
	}
	if q.JSON {
		v.Set("format", "json")
	}
	if q.Init != "" {
		v.Set("init", q.Init)
	}
	resp, err := c.do(ctx, "/api/v1/apps/"+url.PathEscape(app)+"/instances/"+url.PathEscape(instance)+"/logs", v)
	if err != nil {
		return nil, err
	}
	return resp.Body, nil
}
