package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"proclet.dev/proclet/apis/v1alpha1"
)

// loopLiveness is what the systemd notifier reads of the reconciler: the
// first full sync (Ready), the loop's heartbeat, and the apps for STATUS=.
type loopLiveness interface {
	Ready() bool
	Heartbeat() uint64
	HeartbeatAnswered() uint64
	SharedApps() []*v1alpha1.App
}

// Defaults of the notifier's pace: how often it looks at the loop for
// READY=1 and STATUS=, and the least time between two STATUS= lines.
const (
	sdPollEvery   = time.Second
	sdStatusEvery = 5 * time.Second
)

// sdNotifier speaks systemd's notify protocol (sd_notify(3)): datagrams
// to NOTIFY_SOCKET. READY=1 once the reconciler has planned every app of
// the first snapshot; STATUS= with the counts, on change, at most every
// statusEvery; WATCHDOG=1 every half of WATCHDOG_USEC, but only when the
// loop answered the heartbeat asked at the previous ping, so that a stuck
// loop stops the pings and systemd restarts the daemon; STOPPING=1 at
// shutdown.
type sdNotifier struct {
	conn        *net.UnixConn
	log         *slog.Logger
	watchdog    time.Duration // the ping period (half WATCHDOG_USEC); 0: no watchdog
	pollEvery   time.Duration
	statusEvery time.Duration
}

// newSDNotifier returns the notifier of env (os.Getenv), nil when
// NOTIFY_SOCKET is unset (not under Type=notify). The watchdog is on when
// WATCHDOG_USEC is set and WATCHDOG_PID, when set, is pid (the variables
// may have been inherited from a parent they were meant for).
func newSDNotifier(env func(string) string, pid int, log *slog.Logger) (*sdNotifier, error) {
	addr := env("NOTIFY_SOCKET")
	if addr == "" {
		return nil, nil
	}
	if !strings.HasPrefix(addr, "/") && !strings.HasPrefix(addr, "@") {
		return nil, fmt.Errorf("NOTIFY_SOCKET %q: neither a path nor an abstract address (@name)", addr)
	}
	if strings.HasPrefix(addr, "@") {
		addr = "\x00" + addr[1:]
	}
	conn, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: addr, Net: "unixgram"})
	if err != nil {
		return nil, fmt.Errorf("NOTIFY_SOCKET: %w", err)
	}
	n := &sdNotifier{conn: conn, log: log, pollEvery: sdPollEvery, statusEvery: sdStatusEvery}
	n.watchdog, err = watchdogPeriod(env, pid)
	if err != nil {
		log.Warn("not feeding the systemd watchdog", "err", err)
	}
	return n, nil
}

// watchdogPeriod is half of WATCHDOG_USEC, 0 when it is unset or meant
// for another process (WATCHDOG_PID).
func watchdogPeriod(env func(string) string, pid int) (time.Duration, error) {
	usec := env("WATCHDOG_USEC")
	if usec == "" {
		return 0, nil
	}
	if p := env("WATCHDOG_PID"); p != "" && p != strconv.Itoa(pid) {
		return 0, nil
	}
	n, err := strconv.ParseUint(usec, 10, 63)
	if err != nil || n == 0 {
		return 0, fmt.Errorf("WATCHDOG_USEC %q: not a positive number of microseconds", usec)
	}
	return time.Duration(n/2) * time.Microsecond, nil
}

// send writes one notification; a failure is logged, never fatal.
func (n *sdNotifier) send(state string) {
	if _, err := n.conn.Write([]byte(state)); err != nil {
		n.log.Warn("systemd notify", "state", state, "err", err)
	}
}

// start runs the notifier until ctx ends (a stop signal) or the returned
// stop is called (a component failed), whichever comes first; then it
// sends STOPPING=1, the last notification. A nil notifier does nothing.
func (n *sdNotifier) start(ctx context.Context, loop loopLiveness) (stop func()) {
	if n == nil {
		return func() {}
	}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		n.run(ctx, loop)
		n.send("STOPPING=1\nSTATUS=stopping")
	}()
	return func() {
		cancel()
		<-done
		_ = n.conn.Close()
	}
}

// run notifies READY=1 and STATUS= from a poll of the loop, and WATCHDOG=1
// from its heartbeat, until ctx ends.
func (n *sdNotifier) run(ctx context.Context, loop loopLiveness) {
	poll := time.NewTicker(n.pollEvery)
	defer poll.Stop()
	var ping <-chan time.Time
	var ticket uint64
	if n.watchdog > 0 {
		t := time.NewTicker(n.watchdog)
		defer t.Stop()
		ping, ticket = t.C, loop.Heartbeat()
	}
	n.send("STATUS=starting: reconciling the first snapshot")
	var ready, stuck bool
	var status string
	var statusAt time.Time
	for {
		select {
		case <-ctx.Done():
			return
		case <-ping:
			if answered := loop.HeartbeatAnswered() >= ticket; answered != !stuck {
				stuck = !answered
				if stuck {
					n.log.Error("the reconciler loop did not answer its heartbeat: no longer feeding the systemd watchdog",
						"within", n.watchdog)
				} else {
					n.log.Info("the reconciler loop answers its heartbeat again")
				}
			}
			if !stuck {
				n.send("WATCHDOG=1")
			}
			ticket = loop.Heartbeat()
		case now := <-poll.C:
			if !ready {
				if ready = loop.Ready(); ready {
					status, statusAt = sdStatus(loop.SharedApps()), now
					n.send("READY=1\nSTATUS=" + status)
				}
				continue
			}
			if s := sdStatus(loop.SharedApps()); s != status && now.Sub(statusAt) >= n.statusEvery {
				status, statusAt = s, now
				n.send("STATUS=" + s)
			}
		}
	}
}

// sdStatus is the STATUS= text: the apps and their instances.
func sdStatus(apps []*v1alpha1.App) string {
	var running, ready int
	for _, a := range apps {
		if a.Status != nil {
			running += int(a.Status.Replicas)
			ready += int(a.Status.ReadyReplicas)
		}
	}
	return fmt.Sprintf("%d apps, %d instances running, %d ready", len(apps), running, ready)
}

// startSDNotify starts the notifier of the daemon's environment over
// loop until ctx ends or stop is called; either sends STOPPING=1. Without NOTIFY_SOCKET it does
// nothing; with a NOTIFY_SOCKET it cannot use, it logs why.
func startSDNotify(ctx context.Context, loop loopLiveness, log *slog.Logger) (stop func()) {
	n, err := newSDNotifier(os.Getenv, os.Getpid(), log)
	if err != nil {
		log.Warn("not notifying systemd", "err", err)
	}
	return n.start(ctx, loop)
}
