package client

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestBounded_CutsAnswersOverTheBoundOnly(t *testing.T) {
	body := `{"name":"` + strings.Repeat("n", 100) + `"}`
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/api/v1/node" {
			http.NotFound(w, r)
			return
		}
		_, _ = w.Write([]byte(body))
	}))
	defer srv.Close()
	c := New(srv.URL, "")
	if n, err := c.Bounded(int64(len(body))).Node(context.Background()); err != nil || len(n.Name) != 100 {
		t.Errorf("an answer of exactly the bound: %q %v", n.Name, err)
	}
	_, err := c.Bounded(int64(len(body) - 1)).Node(context.Background())
	var tl *AnswerTooLargeError
	if !errors.As(err, &tl) || tl.Max != int64(len(body)-1) || tl.Host != c.Host() {
		t.Errorf("an answer over the bound: %v", err)
	}
	if _, err := c.Node(context.Background()); err != nil {
		t.Errorf("Bounded changed the client it copied: %v", err)
	}
	if _, err := c.Targets(context.Background()); !IsNotFound(err) {
		t.Errorf("targets of a daemon without them: %v", err)
	}
	if h := New("http://10.0.0.5:9090/prefix", "").Host(); h != "10.0.0.5:9090" {
		t.Errorf("Host = %q", h)
	}
}
