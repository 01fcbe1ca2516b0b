package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/coder/websocket"

	"proclet.dev/proclet/apis/v1alpha1"
)

// watchReadLimit bounds one watch message: an app with its whole spec.
const watchReadLimit = 4 << 20

// Watcher reads the daemon's watch (GET /api/v1/watch, a WebSocket).
type Watcher struct {
	conn *websocket.Conn
}

// Watch opens the daemon's watch. The first events are an ADDED for each
// app, job, cronjob and instance that exists, then MODIFIED and DELETED as things
// change. The caller must Close it.
func (c *Client) Watch(ctx context.Context) (*Watcher, error) {
	u := "ws" + strings.TrimPrefix(c.base, "http") + "/api/v1/watch"
	h := http.Header{}
	if c.apiKey != "" {
		h.Set("Authorization", "Bearer "+c.apiKey)
	}
	conn, resp, err := websocket.Dial(ctx, u, &websocket.DialOptions{HTTPHeader: h, HTTPClient: c.http})
	if err != nil {
		if resp != nil {
			defer resp.Body.Close()
			return nil, c.errorOf(resp)
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, &UnreachableError{URL: c.base, Err: err}
	}
	conn.SetReadLimit(watchReadLimit)
	return &Watcher{conn: conn}, nil
}

// Event is one change the watch reports; App is set when Kind is "App",
// Instance when it is "Instance", Job when it is "Job", CronJob when it is
// "CronJob". A kind this client does not know has none set.
type Event struct {
	Type     string // ADDED, MODIFIED or DELETED
	Kind     string
	App      *v1alpha1.App
	Instance *v1alpha1.Instance
	Job      *v1alpha1.Job
	CronJob  *v1alpha1.CronJob
}

// ErrWatchClosed is the end of a watch the daemon closed (it stops, or
// dropped a client that fell behind: watch again).
var ErrWatchClosed = errors.New("the daemon closed the watch")

// Next returns the next change, waiting for it until ctx ends.
func (w *Watcher) Next(ctx context.Context) (Event, error) {
	_, data, err := w.conn.Read(ctx)
	if err != nil {
		if websocket.CloseStatus(err) != -1 {
			return Event{}, fmt.Errorf("%w: %v", ErrWatchClosed, err)
		}
		return Event{}, err
	}
	var raw struct {
		Type   string          `json:"type"`
		Kind   string          `json:"kind"`
		Object json.RawMessage `json:"object"`
	}
	if err := json.Unmarshal(data, &raw); err != nil {
		return Event{}, fmt.Errorf("watch: reading an event: %w", err)
	}
	ev := Event{Type: raw.Type, Kind: raw.Kind}
	switch raw.Kind {
	case v1alpha1.KindApp:
		ev.App = &v1alpha1.App{}
		err = json.Unmarshal(raw.Object, ev.App)
	case "Instance":
		ev.Instance = &v1alpha1.Instance{}
		err = json.Unmarshal(raw.Object, ev.Instance)
	case v1alpha1.KindJob:
		ev.Job = &v1alpha1.Job{}
		err = json.Unmarshal(raw.Object, ev.Job)
	case v1alpha1.KindCronJob:
		ev.CronJob = &v1alpha1.CronJob{}
		err = json.Unmarshal(raw.Object, ev.CronJob)
	}
	if err != nil {
		return Event{}, fmt.Errorf("watch: reading a %s: %w", raw.Kind, err)
	}
	return ev, nil
}

// Close ends the watch.
func (w *Watcher) Close() error { return w.conn.CloseNow() }

// Version returns the daemon's version (GET /api/v1/system's
// daemon.version).
func (c *Client) Version(ctx context.Context) (string, error) {
	var s struct {
		Daemon struct {
			Version string `json:"version"`
		} `json:"daemon"`
	}
	if err := c.getJSON(ctx, "/api/v1/system", nil, &s); err != nil {
		return "", err
	}
	return s.Daemon.Version, nil
}
