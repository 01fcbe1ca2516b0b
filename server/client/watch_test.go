package client

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/coder/websocket"
)

func TestWatch_DecodesEventsAndSendsTheKey(t *testing.T) {
	gotAuth := make(chan string, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotAuth <- r.Header.Get("Authorization")
		c, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		defer c.CloseNow()
		for _, m := range []string{
			`{"type":"ADDED","kind":"App","object":{"metadata":{"name":"web"},"spec":{"command":["x"]}}}`,
			`{"type":"MODIFIED","kind":"Instance","object":{"name":"web-0","app":"web","phase":"Running","pid":7}}`,
		} {
			if c.Write(r.Context(), websocket.MessageText, []byte(m)) != nil {
				return
			}
		}
		_ = c.Close(websocket.StatusGoingAway, "the daemon is stopping")
	}))
	defer srv.Close()
	w, err := New(srv.URL, "k1").Watch(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	ev, err := w.Next(t.Context())
	if err != nil || ev.Type != "ADDED" || ev.App == nil || ev.App.Metadata.Name != "web" || ev.Instance != nil {
		t.Fatalf("first: %+v, %v", ev, err)
	}
	ev, err = w.Next(t.Context())
	if err != nil || ev.Type != "MODIFIED" || ev.Instance == nil || ev.Instance.PID != 7 {
		t.Fatalf("second: %+v, %v", ev, err)
	}
	if _, err = w.Next(t.Context()); err == nil || !strings.Contains(err.Error(), "the daemon closed the watch") {
		t.Fatalf("after close: %v", err)
	}
	if a := <-gotAuth; a != "Bearer k1" {
		t.Errorf("Authorization %q", a)
	}
}

func TestWatch_Errors(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusUnauthorized)
	}))
	if _, err := New(srv.URL, "").Watch(t.Context()); err == nil || err.Error() != "unauthorized: set PROCLET_API_KEY" {
		t.Errorf("401: %v", err)
	}
	srv.Close()
	_, err := New(srv.URL, "").Watch(context.Background())
	if _, ok := err.(*UnreachableError); !ok {
		t.Errorf("gone: %T %v", err, err)
	}
}

func TestStreamTable_KeepsColumns(t *testing.T) {
	var b strings.Builder
	st, err := NewStreamTable(&b, &Table{Header: []string{"NAME", "PHASE", "AGE"}, Rows: [][]string{{"web-0", "Running", "5s"}}})
	if err != nil {
		t.Fatal(err)
	}
	_ = st.Row([]string{"web-1", "Pending", "0s"})
	_ = st.Row([]string{"web-10", "Running (Ready)", "1s"})
	_ = st.Row([]string{"web-2", "Deleted", "1s"})
	want := "NAME    PHASE     AGE\n" +
		"web-0   Running   5s\n" +
		"web-1   Pending   0s\n" +
		"web-10   Running (Ready)   1s\n" +
		"web-2    Deleted           1s\n"
	if b.String() != want {
		t.Errorf("got\n%s\nwant\n%s", b.String(), want)
	}
	// The first rows are aligned as Table aligns them.
	tb := &Table{Header: []string{"NAME", "PHASE", "AGE"}, Rows: [][]string{{"web-0", "Running", "5s"}}}
	if !strings.HasPrefix(want, tb.String()) {
		t.Errorf("Table prints\n%s", tb.String())
	}
}

// An app's event of 1 MiB is read; a message over watchReadLimit ends the
// watch with an error rather than growing the client's memory without
// bound.
func TestWatch_MessageBound(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		defer c.CloseNow()
		for _, n := range []int{1 << 20, watchReadLimit} {
			m := `{"type":"ADDED","kind":"Instance","object":{"name":"` + strings.Repeat("x", n) + `"}}`
			if c.Write(r.Context(), websocket.MessageText, []byte(m)) != nil {
				return
			}
		}
	}))
	defer srv.Close()
	w, err := New(srv.URL, "").Watch(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if ev, err := w.Next(t.Context()); err != nil || len(ev.Instance.Name) != 1<<20 {
		t.Fatalf("a message of 1 MiB: %v", err)
	}
	if _, err := w.Next(t.Context()); err == nil || !strings.Contains(err.Error(), "read limited at") {
		t.Fatalf("a message over %d bytes: %v", watchReadLimit, err)
	}
}
