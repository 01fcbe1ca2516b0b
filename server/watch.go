package server

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"github.com/coder/websocket"

	"proclet.dev/proclet/apis/v1alpha1"
)

// watchBuffer is how many events a watch client may fall behind before it
// is dropped (beyond the initial ADDED events).
const watchBuffer = 256

// watch serves GET /api/v1/watch, a WebSocket: one JSON text message
// {"type", "kind", "object"} per change, after an ADDED for each app, job,
// cronjob and instance that exists. The client sends nothing; it is pinged to keep
// the connection alive and to notice when it is gone. A client that falls
// behind is dropped with close status 1013 (try again later): it should
// reconnect, and gets a fresh list of ADDED events.
func (s *Server) watch(w http.ResponseWriter, r *http.Request) {
	if !isWebSocket(r) {
		s.writeError(w, r, upgradeRequired())
		return
	}
	if err := s.checkOrigin(r); err != nil {
		w.Header().Set("Connection", "close")
		s.writeError(w, r, err)
		return
	}
	if !s.streams.tryAcquire() {
		w.Header().Set("Retry-After", "5")
		s.writeError(w, r, tooManyStreams(s.streams.limit()))
		return
	}
	defer s.streams.release()
	// checkOrigin has decided: coder/websocket's own check (Origin's
	// host:port equal to Host, or a pattern) would refuse a page of
	// localhost:3000 reading a daemon on 127.0.0.1:9090.
	// Subprotocols: a browser that offered proclet.v1 (the page does, beside
	// its key) must get it back or it fails the connection; the key's own
	// protocol is never chosen.
	c, err := websocket.Accept(w, r, &websocket.AcceptOptions{InsecureSkipVerify: true, Subprotocols: []string{WatchProtocol}})
	if err != nil {
		return // Accept has answered
	}
	defer c.CloseNow()
	events, cancel := s.status.Watch(watchBuffer)
	defer cancel()
	// The reader's context ends only with the connection, so that a
	// shutdown (r's context) can still send a close frame.
	gone := c.CloseRead(context.WithoutCancel(r.Context()))
	code, reason := s.sendEvents(r.Context(), gone, c, events)
	if code != 0 {
		_ = c.Close(code, reason)
	}
}

// sendEvents writes events to c until the daemon stops (ctx), the client
// goes away (gone) or the subscription is dropped. It returns the close
// status to send, 0 to just drop the connection (the peer is gone or does
// not answer).
func (s *Server) sendEvents(ctx, gone context.Context, c *websocket.Conn, events <-chan v1alpha1.WatchEvent) (websocket.StatusCode, string) {
	ping := time.NewTicker(s.t.ping)
	defer ping.Stop()
	for {
		select {
		case <-gone.Done():
			return 0, ""
		case <-ctx.Done():
			return websocket.StatusGoingAway, "the daemon is stopping"
		case ev, ok := <-events:
			if !ok {
				return websocket.StatusTryAgainLater, "too slow: dropped, reconnect"
			}
			msg, err := marshal(redactEvent(ev))
			if err != nil {
				s.log.Error("encoding a watch event", "err", err)
				return websocket.StatusInternalError, "internal error"
			}
			wctx, cancel := context.WithTimeout(gone, s.t.streamWrite)
			err = c.Write(wctx, websocket.MessageText, msg)
			cancel()
			if err != nil {
				return 0, ""
			}
		case <-ping.C:
			pctx, cancel := context.WithTimeout(gone, s.t.pong)
			err := c.Ping(pctx)
			cancel()
			if err != nil {
				return 0, "" // no pong: a peer that does not answer would not answer a close either
			}
		}
	}
}

// redactEvent hides the env values of an App's, a Job's or a CronJob's
// spec, and shapes an Instance as the REST answers do.
func redactEvent(ev v1alpha1.WatchEvent) v1alpha1.WatchEvent {
	switch o := ev.Object.(type) {
	case v1alpha1.Instance:
		presentInstance(&o)
		ev.Object = o
	case v1alpha1.App:
		redact(&o)
		ev.Object = o
	case *v1alpha1.App:
		if o == nil {
			break
		}
		cp := *o
		redact(&cp)
		ev.Object = cp
	case v1alpha1.Job:
		redactJob(&o)
		ev.Object = o
	case *v1alpha1.Job:
		if o == nil {
			break
		}
		cp := *o
		redactJob(&cp)
		ev.Object = cp
	case v1alpha1.CronJob:
		redactCronJob(&o)
		ev.Object = o
	case *v1alpha1.CronJob:
		if o == nil {
			break
		}
		cp := *o
		redactCronJob(&cp)
		ev.Object = cp
	}
	return ev
}

// marshal encodes v as the REST answers do (no HTML escaping), compact.
func marshal(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}

func isWebSocket(r *http.Request) bool {
	return strings.EqualFold(r.Header.Get("Upgrade"), "websocket") &&
		strings.Contains(strings.ToLower(r.Header.Get("Connection")), "upgrade")
}
