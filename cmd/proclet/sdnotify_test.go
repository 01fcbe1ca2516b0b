package main

import (
	"context"
	"log/slog"
	"net"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"proclet.dev/proclet/apis/v1alpha1"
	"proclet.dev/proclet/reconciler"
	"proclet.dev/proclet/runtime"
	"proclet.dev/proclet/runtime/runtimetest"
)

// notifySocket is a unixgram socket the test owns, as systemd's: every
// datagram it receives goes to msgs.
type notifySocket struct {
	addr string
	msgs chan string
}

func listenNotify(t *testing.T) *notifySocket {
	t.Helper()
	addr := filepath.Join(t.TempDir(), "notify")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: addr, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	s := &notifySocket{addr: addr, msgs: make(chan string, 1024)}
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 4096)
		for {
			n, err := conn.Read(buf)
			if err != nil {
				return
			}
			s.msgs <- string(buf[:n])
		}
	}()
	t.Cleanup(func() { conn.Close(); <-done })
	return s
}

// waitFor returns the first datagram with prefix, failing after 10 s.
func (s *notifySocket) waitFor(t *testing.T, prefix string) string {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case m := <-s.msgs:
			if strings.HasPrefix(m, prefix) {
				return m
			}
		case <-deadline:
			t.Fatalf("no %q datagram within 10 s", prefix)
		}
	}
}

// drain returns the datagrams received so far.
func (s *notifySocket) drain() []string {
	var out []string
	for {
		select {
		case m := <-s.msgs:
			out = append(out, m)
		default:
			return out
		}
	}
}

// blockedStarts is a fake runtime whose starts block until release is
// closed: the reconciler's only worker stuck in a pass.
type blockedStarts struct {
	*runtimetest.Fake
	release chan struct{}
}

func (b blockedStarts) Start(ctx context.Context, spec runtime.StartSpec) (runtime.State, error) {
	<-b.release
	return b.Fake.Start(ctx, spec)
}

// countingLoop counts the notifier's looks at the loop.
type countingLoop struct {
	*reconciler.Reconciler
	readyCalls, beats atomic.Int64
}

func (c *countingLoop) Ready() bool       { c.readyCalls.Add(1); return c.Reconciler.Ready() }
func (c *countingLoop) Heartbeat() uint64 { c.beats.Add(1); return c.Reconciler.Heartbeat() }

// pollUntil polls cond every millisecond for up to 10 s.
func pollUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("not %s within 10 s", what)
		}
	}
}

// runLoop runs a reconciler with one worker over a runtime whose starts
// block until the returned release is closed.
func runLoop(t *testing.T) (*countingLoop, chan struct{}) {
	t.Helper()
	rt := blockedStarts{Fake: runtimetest.New(), release: make(chan struct{})}
	rec := reconciler.New(reconciler.Options{Runtime: rt, Workers: 1})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = rec.Run(ctx); close(done) }()
	t.Cleanup(func() {
		select {
		case <-rt.release:
		default:
			close(rt.release)
		}
		cancel()
		<-done
	})
	return &countingLoop{Reconciler: rec}, rt.release
}

func oneApp(name string) v1alpha1.Snapshot {
	a := &v1alpha1.App{APIVersion: "proclet.dev/v1alpha1", Kind: "App", Metadata: v1alpha1.ObjectMeta{Name: name},
		Spec: v1alpha1.AppSpec{Command: []string{"/bin/true"}}}
	v1alpha1.Default(a)
	return v1alpha1.Snapshot{Apps: []v1alpha1.SourcedApp{{App: *a, Path: name + ".yaml", Dir: "/srv"}},
		Files: []v1alpha1.FileStatus{{Path: name + ".yaml", Objects: []string{name}}}}
}

func env(vars map[string]string) func(string) string {
	return func(k string) string { return vars[k] }
}

func newTestNotifier(t *testing.T, vars map[string]string) *sdNotifier {
	t.Helper()
	n, err := newSDNotifier(env(vars), 4242, slog.New(slog.DiscardHandler))
	if err != nil || n == nil {
		t.Fatalf("newSDNotifier: %v, %v", n, err)
	}
	n.pollEvery, n.statusEvery = time.Millisecond, 0
	return n
}

// TestSDNotify_ReadyOnlyAfterTheFirstSync: READY=1 is not sent while the
// first snapshot's app is still being planned (its start blocks), however
// often the notifier looks, and is sent, with the counts in STATUS=, once
// its pass is done; STOPPING=1 comes last.
func TestSDNotify_ReadyOnlyAfterTheFirstSync(t *testing.T) {
	sock := listenNotify(t)
	loop, release := runLoop(t)
	loop.Replace(oneApp("web"))
	stop := newTestNotifier(t, map[string]string{"NOTIFY_SOCKET": sock.addr}).start(context.Background(), loop)
	sock.waitFor(t, "STATUS=starting")
	pollUntil(t, "looked at Ready 20 times", func() bool { return loop.readyCalls.Load() >= 20 })
	for _, m := range sock.drain() {
		if strings.Contains(m, "READY=1") {
			t.Fatalf("%q before the first sync", m)
		}
	}
	close(release)
	ready := sock.waitFor(t, "READY=1")
	if want := "READY=1\nSTATUS=1 apps, 1 instances running"; !strings.HasPrefix(ready, want) {
		t.Errorf("got %q, want it to begin %q", ready, want)
	}
	stop()
	sock.waitFor(t, "STOPPING=1")
	if rest := sock.drain(); len(rest) != 0 {
		t.Errorf("after STOPPING=1: %q", rest)
	}
}

// TestSDNotify_WatchdogStopsWhileTheLoopIsStuck: WATCHDOG=1 is sent while
// the loop answers its heartbeat, stops once its only worker is stuck in
// a pass (at most one ping answered before it got stuck may follow), and
// resumes when the pass ends.
func TestSDNotify_WatchdogStopsWhileTheLoopIsStuck(t *testing.T) {
	sock := listenNotify(t)
	loop, release := runLoop(t)
	n := newTestNotifier(t, map[string]string{"NOTIFY_SOCKET": sock.addr, "WATCHDOG_USEC": "20000", "WATCHDOG_PID": "4242"})
	if n.watchdog != 10*time.Millisecond {
		t.Fatalf("ping period %v, want half of WATCHDOG_USEC", n.watchdog)
	}
	defer n.start(context.Background(), loop)()
	for range 3 {
		sock.waitFor(t, "WATCHDOG=1")
	}
	loop.Replace(oneApp("web")) // the only worker blocks in web's start
	before := loop.beats.Load()
	pollUntil(t, "asked 10 more heartbeats", func() bool { return loop.beats.Load() >= before+10 })
	pings := 0
	for _, m := range sock.drain() {
		if m == "WATCHDOG=1" {
			pings++
		}
	}
	if pings > 1 {
		t.Fatalf("%d WATCHDOG=1 while the loop was stuck", pings)
	}
	close(release)
	sock.waitFor(t, "WATCHDOG=1")
}

// TestSDNotify_Environment: no NOTIFY_SOCKET, no notifier; the watchdog
// only for this process, with a valid period; a bad NOTIFY_SOCKET is an
// error naming it.
func TestSDNotify_Environment(t *testing.T) {
	if n, err := newSDNotifier(env(nil), 1, slog.New(slog.DiscardHandler)); n != nil || err != nil {
		t.Fatalf("without NOTIFY_SOCKET: %v, %v", n, err)
	}
	if _, err := newSDNotifier(env(map[string]string{"NOTIFY_SOCKET": "relative"}), 1, nil); err == nil ||
		!strings.Contains(err.Error(), "NOTIFY_SOCKET") {
		t.Fatalf("relative NOTIFY_SOCKET: %v", err)
	}
	for _, c := range []struct {
		usec, pid string
		want      time.Duration
		err       bool
	}{
		{"", "", 0, false},
		{"30000000", "", 15 * time.Second, false},
		{"30000000", "7", 15 * time.Second, false},
		{"30000000", "8", 0, false}, // another process's
		{"0", "", 0, true},
		{"-5", "", 0, true},
		{"abc", "", 0, true},
	} {
		got, err := watchdogPeriod(env(map[string]string{"WATCHDOG_USEC": c.usec, "WATCHDOG_PID": c.pid}), 7)
		if got != c.want || (err != nil) != c.err {
			t.Errorf("WATCHDOG_USEC=%q WATCHDOG_PID=%q: %v, %v; want %v, error %v", c.usec, c.pid, got, err, c.want, c.err)
		}
	}
}

// TestSDNotify_StoppingAtTheSignal: STOPPING=1 goes out as soon as the
// daemon's signal context ends, before the components have stopped (stop
// is called later), and only once.
func TestSDNotify_StoppingAtTheSignal(t *testing.T) {
	sock := listenNotify(t)
	loop, _ := runLoop(t)
	ctx, signal := context.WithCancel(context.Background())
	stop := newTestNotifier(t, map[string]string{"NOTIFY_SOCKET": sock.addr}).start(ctx, loop)
	sock.waitFor(t, "STATUS=starting")
	signal()
	sock.waitFor(t, "STOPPING=1")
	stop()
	for _, m := range sock.drain() {
		if strings.Contains(m, "STOPPING=1") {
			t.Fatalf("a second STOPPING=1: %q", m)
		}
	}
}
