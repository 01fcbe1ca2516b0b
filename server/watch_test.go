package server

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"

	"proclet.dev/proclet/apis/v1alpha1"
)

type watchMsg struct {
	Type   string          `json:"type"`
	Kind   string          `json:"kind"`
	Object json.RawMessage `json:"object"`
}

type watchFixture struct {
	*logFixture
	fake *fakeStatus
	srv  *httptest.Server
}

func newWatchFixture(t *testing.T, opts Options) *watchFixture {
	t.Helper()
	fake := newFake()
	opts.Status = fake
	lf := newLogFixture(t, opts)
	srv := httptest.NewServer(lf.handler())
	t.Cleanup(srv.Close)
	return &watchFixture{logFixture: lf, fake: fake, srv: srv}
}

func (f *watchFixture) dial(t *testing.T, header http.Header) *websocket.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, resp, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(f.srv.URL, "http")+"/api/v1/watch",
		&websocket.DialOptions{HTTPHeader: header})
	if err != nil {
		status := 0
		if resp != nil {
			status = resp.StatusCode
		}
		t.Fatalf("dial: %v (status %d)", err, status)
	}
	t.Cleanup(func() { c.CloseNow() })
	return c
}

func readMsg(t *testing.T, c *websocket.Conn) watchMsg {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	typ, b, err := c.Read(ctx)
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	if typ != websocket.MessageText {
		t.Fatalf("message type %v", typ)
	}
	var m watchMsg
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("%v: %s", err, b)
	}
	return m
}

func (m watchMsg) name(t *testing.T) string {
	t.Helper()
	var o struct {
		Name     string `json:"name"`
		Metadata struct {
			Name string `json:"name"`
		} `json:"metadata"`
	}
	if err := json.Unmarshal(m.Object, &o); err != nil {
		t.Fatal(err)
	}
	return o.Name + o.Metadata.Name
}

func TestWatch_InitialThenScaleUp(t *testing.T) {
	f := newWatchFixture(t, Options{})
	c := f.dial(t, nil)
	var got []string
	for range 5 { // 2 apps, 3 instances
		m := readMsg(t, c)
		if m.Type != "ADDED" {
			t.Errorf("initial %s %s", m.Type, m.Kind)
		}
		if strings.Contains(string(m.Object), "hunter2") || strings.Contains(string(m.Object), "s3cr3t-probe") {
			t.Errorf("env or probe header value not redacted: %s", m.Object)
		}
		got = append(got, m.Kind+"/"+m.name(t))
	}
	want := "App/web App/worker Instance/web-0 Instance/web-1 Instance/worker-0"
	if strings.Join(got, " ") != want {
		t.Errorf("initial events %v, want %s", got, want)
	}

	// Scale web from 2 to 3.
	web, _ := f.fake.App("web")
	web.Spec.Replicas = ptrInt32(3)
	web.Status.Replicas = 3
	f.fake.publish(v1alpha1.WatchEvent{Type: v1alpha1.WatchModified, Kind: "App", Object: web})
	f.fake.publish(v1alpha1.WatchEvent{Type: v1alpha1.WatchAdded, Kind: "Instance",
		Object: v1alpha1.Instance{Name: "web-2", App: "web", Phase: v1alpha1.PhasePending}})
	m := readMsg(t, c)
	if m.Type != "MODIFIED" || m.Kind != "App" || !strings.Contains(string(m.Object), `"replicas":3`) ||
		!strings.Contains(string(m.Object), `"value":"<redacted>"`) || strings.Contains(string(m.Object), "hunter2") ||
		strings.Contains(string(m.Object), "s3cr3t-probe") {
		t.Errorf("scale-up app event %s %s %s", m.Type, m.Kind, m.Object)
	}
	m = readMsg(t, c)
	if m.Type != "ADDED" || m.Kind != "Instance" || m.name(t) != "web-2" {
		t.Errorf("scale-up instance event %s %s %s", m.Type, m.Kind, m.Object)
	}

	// The client leaves: the subscription and the handler end.
	c.Close(websocket.StatusNormalClosure, "bye")
	eventually(t, "the watch to end server-side", func() bool { return f.active.Load() == 0 && f.fake.subscribers() == 0 })
}

func ptrInt32(v int32) *int32 { return &v }

func TestWatch_SlowClientDropped(t *testing.T) {
	f := newWatchFixture(t, Options{})
	c := f.dial(t, nil)
	eventually(t, "the subscription", func() bool { return f.fake.subscribers() == 1 })
	f.fake.dropAll() // what the reconciler does to a subscriber that falls behind
	for range 5 {
		readMsg(t, c)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, _, err := c.Read(ctx)
	if st := websocket.CloseStatus(err); st != websocket.StatusTryAgainLater {
		t.Fatalf("close status %v (%v), want 1013 try again later", st, err)
	}
	eventually(t, "the watch to end server-side", func() bool { return f.active.Load() == 0 })
}

func TestWatch_SilentClientDroppedByPing(t *testing.T) {
	f := newWatchFixture(t, Options{})
	f.s.t.ping, f.s.t.pong = 10*time.Millisecond, 20*time.Millisecond
	f.dial(t, nil) // never reads, so never answers a ping
	eventually(t, "the silent client to be dropped", func() bool { return f.active.Load() == 0 && f.fake.subscribers() == 0 })
}

func TestWatch_KeepaliveKeepsAReadingClient(t *testing.T) {
	f := newWatchFixture(t, Options{})
	f.s.t.ping, f.s.t.pong = 5*time.Millisecond, 5*time.Second
	var pings atomic.Int32
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(f.srv.URL, "http")+"/api/v1/watch", &websocket.DialOptions{
		OnPingReceived: func(context.Context, []byte) bool { pings.Add(1); return true }})
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	for range 5 {
		readMsg(t, c)
	}
	// A read in progress answers the pings; the connection stays up and
	// the next event arrives.
	type result struct {
		m   watchMsg
		err error
	}
	got := make(chan result, 1)
	go func() {
		_, b, err := c.Read(ctx)
		var m watchMsg
		if err == nil {
			err = json.Unmarshal(b, &m)
		}
		got <- result{m, err}
	}()
	eventually(t, "a few pings", func() bool { return pings.Load() >= 3 })
	f.fake.publish(v1alpha1.WatchEvent{Type: v1alpha1.WatchDeleted, Kind: "Instance", Object: v1alpha1.Instance{Name: "web-1", App: "web"}})
	r := <-got
	if r.err != nil || r.m.Type != "DELETED" || r.m.Kind != "Instance" {
		t.Errorf("after %d pings: %+v %v", pings.Load(), r.m, r.err)
	}
}

func TestWatch_NotAWebSocket(t *testing.T) {
	rec := get(t, New(Options{Status: newFake()}), "GET", "/api/v1/watch")
	if rec.Code != http.StatusUpgradeRequired || !strings.Contains(rec.Body.String(), `"UpgradeRequired"`) {
		t.Errorf("%d %s", rec.Code, rec.Body)
	}
}

func TestWatch_Auth(t *testing.T) {
	f := newWatchFixture(t, Options{APIKeys: []string{goodKey}})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	url := "ws" + strings.TrimPrefix(f.srv.URL, "http") + "/api/v1/watch"
	_, resp, err := websocket.Dial(ctx, url, &websocket.DialOptions{HTTPHeader: http.Header{"X-Api-Key": {"wrong"}}})
	if err == nil || resp == nil || resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("wrong key: %v %v", err, resp)
	}
	c := f.dial(t, http.Header{"Authorization": {"Bearer " + goodKey}})
	if m := readMsg(t, c); m.Type != "ADDED" {
		t.Errorf("with key: %+v", m)
	}
}

func TestWatch_CrossOriginRefused(t *testing.T) {
	f := newWatchFixture(t, Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	url := "ws" + strings.TrimPrefix(f.srv.URL, "http") + "/api/v1/watch"
	_, resp, err := websocket.Dial(ctx, url, &websocket.DialOptions{HTTPHeader: http.Header{"Origin": {"https://evil.example"}}})
	if err == nil || resp == nil || resp.StatusCode != http.StatusForbidden {
		t.Fatalf("cross-origin watch: %v %v", err, resp)
	}
	eventually(t, "the slot to be free", func() bool { return f.active.Load() == 0 })
}
