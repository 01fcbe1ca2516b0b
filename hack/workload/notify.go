package main

import (
	"flag"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"time"
)

// notifyConfig is what the workload says through sd_notify ($NOTIFY_SOCKET).
type notifyConfig struct {
	readyAfter, statusEvery, pingStopAfter, triggerAfter time.Duration
	status                                               string
	ping                                                 bool
	size, flood                                          int
}

var notifyCfg = func() *notifyConfig {
	c := &notifyConfig{}
	flag.DurationVar(&c.readyAfter, "notify-ready-after", -1, "send READY=1 this long after start (-1: never)")
	flag.StringVar(&c.status, "notify-status", "", "send STATUS=<this> at start, and with READY=1")
	flag.DurationVar(&c.statusEvery, "notify-status-every", 0, "send STATUS=tick <n> this often (0: never)")
	flag.BoolVar(&c.ping, "notify-watchdog", false, "send WATCHDOG=1 every $WATCHDOG_USEC/2")
	flag.DurationVar(&c.pingStopAfter, "notify-watchdog-stop-after", -1, "stop the WATCHDOG=1 pings this long after start")
	flag.DurationVar(&c.triggerAfter, "notify-trigger-after", -1, "send WATCHDOG=trigger this long after start")
	flag.IntVar(&c.size, "notify-size", 0, "pad every message to this many bytes (a STATUS= of zeros)")
	flag.IntVar(&c.flood, "notify-flood", 0, "send this many STATUS=flood <n> at start, as fast as it can")
	return c
}()

// notifyLoop sends what notifyCfg asks for, each message in a datagram
// of its own, from a socket opened for it (as libsystemd's sd_notify does:
// a daemon restart between two messages loses nothing).
func notifyLoop(start time.Time) {
	c := notifyCfg
	addr := os.Getenv("NOTIFY_SOCKET")
	if addr == "" {
		return
	}
	send := func(msg string) {
		if pad := c.size - len(msg) - len("\nSTATUS="); c.size > 0 && pad > 0 {
			msg += "\nSTATUS=" + strings.Repeat("0", pad)
		}
		conn, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: addr, Net: "unixgram"})
		if err == nil {
			_, err = conn.Write([]byte(msg))
			conn.Close()
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "notify:", err)
		}
	}
	if c.status != "" {
		send("STATUS=" + c.status)
	}
	for i := 1; i <= c.flood; i++ {
		send("STATUS=flood " + strconv.Itoa(i))
	}
	var pingEvery time.Duration
	if usec, err := strconv.ParseInt(os.Getenv("WATCHDOG_USEC"), 10, 64); err == nil && usec > 0 && c.ping {
		pingEvery = time.Duration(usec) * time.Microsecond / 2
	}
	at := func(d time.Duration) <-chan time.Time {
		if d < 0 {
			return nil
		}
		return time.After(time.Until(start.Add(d)))
	}
	every := func(d time.Duration) <-chan time.Time {
		if d <= 0 {
			return nil
		}
		return time.Tick(d)
	}
	ready, stopPing, trigger := at(c.readyAfter), at(c.pingStopAfter), at(c.triggerAfter)
	pings, ticks := every(pingEvery), every(c.statusEvery)
	for n := 1; ; {
		select {
		case <-ready:
			msg := "READY=1"
			if c.status != "" {
				msg += "\nSTATUS=" + c.status
			}
			send(msg)
		case <-pings:
			send("WATCHDOG=1")
		case <-stopPing:
			pings = nil
		case <-trigger:
			send("WATCHDOG=trigger")
		case <-ticks:
			send("STATUS=tick " + strconv.Itoa(n))
			n++
		}
	}
}
