package server

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// TestRun_StreamsOutliveTheTimeoutsAndEndAtShutdown runs the real server
// with short read and write timeouts: a log follow and a watch last longer
// than them, and both end when the server stops.
func TestRun_StreamsOutliveTheTimeoutsAndEndAtShutdown(t *testing.T) {
	lf := newLogFixture(t, Options{})
	lf.s.t.read, lf.s.t.write = 100*time.Millisecond, 100*time.Millisecond
	path := lf.path("web-0", "stdout")
	writeFile(t, path, "")

	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	addrc := make(chan net.Addr, 1)
	done := make(chan error, 1)
	go func() { done <- lf.s.Run(ctx, "127.0.0.1:0", func(a net.Addr) { addrc <- a }) }()
	base := "http://" + (<-addrc).String()

	req, _ := http.NewRequest("GET", base+"/api/v1/apps/web/instances/web-0/logs?follow=true", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	r := bufio.NewReader(resp.Body)
	wctx, wcancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer wcancel()
	ws, _, err := websocket.Dial(wctx, "ws"+strings.TrimPrefix(base, "http")+"/api/v1/watch", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.CloseNow()

	start := time.Now()
	for i := 0; time.Since(start) < 4*lf.s.t.write; i++ {
		appendFile(t, path, fmt.Sprintf("line %d\n", i))
		if got, err := r.ReadString('\n'); err != nil || got != fmt.Sprintf("line %d\n", i) {
			t.Fatalf("after %s: %q %v", time.Since(start), got, err)
		}
	}
	for range 5 {
		if _, _, err := ws.Read(wctx); err != nil {
			t.Fatalf("watch after %s: %v", time.Since(start), err)
		}
	}
	// A client keeps reading: that is how it answers the close frame.
	closed := make(chan error, 1)
	go func() {
		_, _, err := ws.Read(wctx)
		closed <- err
	}()

	stop()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return")
	}
	if _, err := r.ReadString('\n'); err == nil {
		t.Error("the follow outlived the server")
	}
	if err := <-closed; websocket.CloseStatus(err) != websocket.StatusGoingAway {
		t.Errorf("watch at shutdown: %v, want going away", err)
	}
}
