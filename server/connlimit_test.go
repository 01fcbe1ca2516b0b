package server

import (
	"bufio"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// limitedServer serves h behind a connLimiter on a loopback socket, as
// serve does. Requests to /block wait until release is closed.
type limitedServer struct {
	addr    string
	l       *connLimiter
	entered chan struct{}
	release chan struct{}
	once    sync.Once
}

// unblock ends the /block requests.
func (ls *limitedServer) unblock() { ls.once.Do(func() { close(ls.release) }) }

func startLimited(t *testing.T, maxTotal, perClient int) *limitedServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ls := &limitedServer{addr: ln.Addr().String(), entered: make(chan struct{}, 100), release: make(chan struct{})}
	ls.l = newConnLimiter(ln, maxTotal, perClient, slog.New(slog.DiscardHandler), nil)
	srv := &http.Server{ConnState: ls.l.connState, ReadHeaderTimeout: 30 * time.Second,
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/block" {
				ls.entered <- struct{}{}
				<-ls.release
			}
			_, _ = io.WriteString(w, "ok\n")
		})}
	go srv.Serve(ls.l)
	t.Cleanup(func() { ls.unblock(); srv.Close() })
	return ls
}

// dialFrom connects from source address ip (any of 127.0.0.0/8).
func (ls *limitedServer) dialFrom(t *testing.T, ip string) net.Conn {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 10 * time.Second}
	c, err := d.Dial("tcp", ls.addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	_ = c.SetDeadline(time.Now().Add(20 * time.Second))
	return c
}

// block opens a connection from ip whose request stays active.
func (ls *limitedServer) block(t *testing.T, ip string) net.Conn {
	t.Helper()
	c := ls.dialFrom(t, ip)
	if _, err := io.WriteString(c, "GET /block HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	select {
	case <-ls.entered:
	case <-time.After(20 * time.Second):
		t.Fatal("the blocking request did not start")
	}
	return c
}

// assertRefused reads the 503 a connection over a cap gets, then EOF.
func assertRefused(t *testing.T, c net.Conn, what, wantMsg string) {
	t.Helper()
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("%s: %v, want a 503", what, err)
	}
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusServiceUnavailable || !resp.Close || resp.Header.Get("Retry-After") == "" ||
		!strings.Contains(string(body), `"code":"TooManyConnections"`) || !strings.Contains(string(body), wantMsg) {
		t.Errorf("%s: %d close=%v %s, want 503 %q", what, resp.StatusCode, resp.Close, body, wantMsg)
	}
	if n, err := br.Read(make([]byte, 1)); err == nil {
		t.Errorf("%s: the refused connection stays open (%d bytes)", what, n)
	}
}

func TestConnLimiter_PerClientThenTotal(t *testing.T) {
	ls := startLimited(t, 5, 3)
	for range 3 {
		ls.block(t, "127.0.0.1")
	}
	assertRefused(t, ls.dialFrom(t, "127.0.0.1"), "a 4th connection from one client", "limit 3 per client")
	// Another client still gets in, up to the total.
	ls.block(t, "127.0.0.2")
	ls.block(t, "127.0.0.3")
	assertRefused(t, ls.dialFrom(t, "127.0.0.4"), "a 6th connection", "too many connections (limit 5)")
	if total, one := ls.l.counts(netip.MustParseAddr("127.0.0.1")); total != 5 || one != 3 {
		t.Errorf("counted %d in total, %d from 127.0.0.1; want 5 and 3", total, one)
	}
	if open, refused := ls.l.stats.open.Load(), ls.l.stats.refused.Load(); open != 5 || refused != 2 {
		t.Errorf("metrics: %d open, %d refused; want 5 and 2", open, refused)
	}
	// Places come back when connections close.
	ls.unblock()
	eventually(t, "the blocked connections to be idle or closed", func() bool {
		ls.l.mu.Lock()
		defer ls.l.mu.Unlock()
		n := 0
		for c := ls.l.idleHead; c != nil; c = c.next {
			n++
		}
		return n == 5
	})
	c := ls.dialFrom(t, "127.0.0.1")
	if _, err := io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	if resp, err := http.ReadResponse(bufio.NewReader(c), nil); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("after the others went idle: %v %v", resp, err)
	}
}

// An idle keep-alive connection gives its place to a new one: idle
// connections alone can never lock clients out.
func TestConnLimiter_IdleConnectionsMakeRoom(t *testing.T) {
	ls := startLimited(t, 3, 2)
	idle := func(ip string) *bufio.Reader {
		c := ls.dialFrom(t, ip)
		if _, err := io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
			t.Fatal(err)
		}
		br := bufio.NewReader(c)
		resp, err := http.ReadResponse(br, nil)
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("GET from %s: %v %v", ip, resp, err)
		}
		_, _ = io.ReadAll(resp.Body)
		return br
	}
	waitIdle := func(n int) {
		eventually(t, "connections to go idle", func() bool {
			ls.l.mu.Lock()
			defer ls.l.mu.Unlock()
			k := 0
			for c := ls.l.idleHead; c != nil; c = c.next {
				k++
			}
			return k == n
		})
	}
	first := idle("127.0.0.1")
	waitIdle(1)
	second := idle("127.0.0.1")
	waitIdle(2)
	third := idle("127.0.0.2")
	waitIdle(3)
	// The client's cap: its own longest idle connection goes.
	idle("127.0.0.1")
	if _, err := first.ReadByte(); err == nil {
		t.Error("the longest idle connection of the client was not closed")
	}
	waitIdle(3)
	// The total cap: the longest idle connection of anyone goes.
	idle("127.0.0.3")
	if _, err := second.ReadByte(); err == nil {
		t.Error("the longest idle connection was not closed")
	}
	_ = third
	if total, _ := ls.l.counts(netip.Addr{}); total != 3 || ls.l.stats.evicted.Load() != 2 || ls.l.stats.refused.Load() != 0 {
		t.Errorf("%d connections counted, %d idle ones closed, %d refused; want 3, 2, 0",
			total, ls.l.stats.evicted.Load(), ls.l.stats.refused.Load())
	}
}

// A flood of connections (each sends a request and keeps the connection)
// never holds more than the cap open, and a client gets in afterwards.
func TestConnLimiter_FloodStaysWithinTheCap(t *testing.T) {
	ls := startLimited(t, 20, 10)
	const flood = 500
	var conns []net.Conn
	for i := range flood {
		c := ls.dialFrom(t, "127.0.1."+strconv.Itoa(1+i%50))
		_, _ = io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
		conns = append(conns, c)
		if total, _ := ls.l.counts(netip.Addr{}); total > 20 {
			t.Fatalf("%d connections open after %d dials, cap 20", total, i+1)
		}
	}
	for _, c := range conns {
		c.Close()
	}
	// The backlog may still hold connections of the flood (closed by now):
	// they come and go; then the caps make room for a client again.
	eventually(t, "a client to get in after the flood", func() bool {
		c := ls.dialFrom(t, "127.0.0.1")
		defer c.Close()
		_, _ = io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		return err == nil && resp.StatusCode == http.StatusOK
	})
	eventually(t, "the flood's connections to be released", func() bool {
		total, _ := ls.l.counts(netip.Addr{})
		return total == 0
	})
}

func TestDefaultMaxConnections(t *testing.T) {
	for nofile, want := range map[uint64]int{1024: 256, 20000: 1024, 1 << 20: 1024, 40: 16} {
		if got := DefaultMaxConnections(nofile); got != want {
			t.Errorf("DefaultMaxConnections(%d) = %d, want %d", nofile, got, want)
		}
	}
}
