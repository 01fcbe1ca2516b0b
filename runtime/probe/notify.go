package probe

import (
	"bytes"
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"proclet.dev/proclet/runtime"
)

// MaxNotifyMessage is the largest notify datagram read (systemd's bound,
// PIPE_BUF): a longer one is dropped whole.
const MaxNotifyMessage = 4096

// MaxNotifyStatus is the most of a STATUS= text kept as the instance's
// message; the rest is cut and marked.
const MaxNotifyStatus = 512

// Message is what one notify datagram says: newline-separated
// VARIABLE=value assignments, as sd_notify(3) sends them. Assignments
// proclet does not act on (ERRNO=, FDSTORE=, ...) are ignored.
type Message struct {
	Ready, Stopping, Reloading bool
	Watchdog                   bool // WATCHDOG=1
	Trigger                    bool // WATCHDOG=trigger
	HasStatus                  bool
	Status                     string // STATUS=, cleaned: valid UTF-8, no control characters, bounded
	MainPID                    int    // MAINPID=, 0 when absent
}

// ParseMessage parses one datagram. Malformed lines (no '=') are
// ignored, as systemd ignores them; a MAINPID that is not a positive
// number is an error, so that it is never honoured half-read.
func ParseMessage(b []byte) (Message, error) {
	var m Message
	for len(b) > 0 {
		var line []byte
		line, b, _ = bytes.Cut(b, []byte{'\n'})
		k, v, ok := bytes.Cut(line, []byte{'='})
		if !ok {
			continue
		}
		switch string(k) {
		case "READY":
			m.Ready = m.Ready || string(v) == "1"
		case "STOPPING":
			m.Stopping = m.Stopping || string(v) == "1"
		case "RELOADING":
			m.Reloading = m.Reloading || string(v) == "1"
		case "WATCHDOG":
			switch string(v) {
			case "1":
				m.Watchdog = true
			case "trigger":
				m.Trigger = true
			}
		case "STATUS":
			m.HasStatus, m.Status = true, cleanStatus(v)
		case "MAINPID":
			pid, err := strconv.Atoi(string(v))
			if err != nil || pid <= 0 {
				return Message{}, fmt.Errorf("MAINPID=%q is not a PID", shorten(v, 32))
			}
			m.MainPID = pid
		}
	}
	return m, nil
}

// cleanStatus makes a STATUS= text fit for an API field and a terminal:
// invalid UTF-8 and control characters become U+FFFD and spaces, and it
// is cut at MaxNotifyStatus bytes.
func cleanStatus(v []byte) string {
	s := strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, strings.ToValidUTF8(string(v), "\uFFFD"))
	if len(s) <= MaxNotifyStatus {
		return s
	}
	cut := MaxNotifyStatus
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + fmt.Sprintf("... (%d bytes)", len(s))
}

func shorten(b []byte, n int) string {
	if len(b) > n {
		b = b[:n]
	}
	return string(b)
}

// Notify is the notify-driven readiness and liveness of one instance: it
// applies the messages the runtime's notify socket received from the
// instance's process tree, through the same Update as the probe loops.
// A notify liveness probe is a Loop too (its runner is Watchdog), so that
// its runs count and fail as any probe's; readiness is not polled: it
// changes when a message arrives.
type Notify struct {
	App, Instance string
	readiness     bool          // the readiness probe is notify
	period        time.Duration // the notify liveness probe's period; 0: liveness is not notify

	Update  func(notify bool, change func(*runtime.ProbeStatus))
	OnProbe func(app, probe string, ok bool, d time.Duration)

	ready atomic.Bool // the last word was READY=1 (not STOPPING=1 or RELOADING=1 since)

	mu       sync.Mutex
	lastPing time.Time // the last WATCHDOG=1, or when watching began
	trigger  bool      // WATCHDOG=trigger arrived
	status   string    // the last STATUS=
}

// NewNotify returns the notify state of an instance whose readiness probe
// is notify (readiness) and whose liveness probe is notify with period
// (0: not notify); since is when the watchdog starts counting (the
// process start, or the adoption).
func NewNotify(app, instance string, readiness bool, period time.Duration, since time.Time) *Notify {
	return &Notify{App: app, Instance: instance, readiness: readiness, period: period, lastPing: since}
}

// Ready reports whether the instance said READY=1 last: the readiness a
// passing startup probe gives it (Worker.NotifyReady).
func (n *Notify) Ready() bool { return n.ready.Load() }

// Resume goes on from an adopted instance's recorded status: ready if it
// was.
func (n *Notify) Resume(p runtime.ProbeStatus) {
	if n.readiness && p.Ready {
		n.ready.Store(true)
	}
}

// Apply applies one message received at now. It never blocks on the
// instance; it calls Update (which takes the runtime's lock) with no lock
// of its own held.
func (n *Notify) Apply(m Message, now time.Time) {
	n.mu.Lock()
	if n.trigger { // the instance is being restarted: nothing it says matters
		n.mu.Unlock()
		return
	}
	if m.Watchdog {
		n.lastPing = now
	}
	trigger := m.Trigger && n.period > 0
	n.trigger = trigger
	statusChanged := m.HasStatus && m.Status != n.status
	if m.HasStatus {
		n.status = m.Status
	}
	n.mu.Unlock()

	if trigger {
		n.Update(true, func(p *runtime.ProbeStatus) {
			p.Failed, p.Message, p.Ready = runtime.ReasonLivenessProbeFailed, "liveness probe: WATCHDOG=trigger", false
		})
		n.probed("liveness", false)
		return
	}
	var change []func(*runtime.ProbeStatus)
	if statusChanged {
		status := m.Status
		change = append(change, func(p *runtime.ProbeStatus) {
			if p.Failed == "" {
				p.Message = status
			}
		})
	}
	if n.readiness {
		// The last word of a message wins; READY=1 with STOPPING=1 in one
		// datagram is read as "stopping".
		switch {
		case m.Stopping || m.Reloading:
			if n.ready.Swap(false) {
				change = append(change, func(p *runtime.ProbeStatus) { p.Ready = false })
				n.probed("readiness", false)
			}
		case m.Ready:
			if !n.ready.Swap(true) {
				change = append(change, func(p *runtime.ProbeStatus) {
					// Not before the startup probe passed (its success
					// reads Ready()), never after a liveness failure.
					if p.Started && p.Failed == "" && !p.Ready {
						p.Ready, p.ReadySince = true, now
					}
				})
				n.probed("readiness", true)
			}
		}
	}
	if len(change) > 0 {
		n.Update(true, func(p *runtime.ProbeStatus) {
			for _, c := range change {
				c(p)
			}
		})
	}
}

func (n *Notify) probed(kind string, ok bool) {
	if n.OnProbe != nil {
		n.OnProbe(n.App, kind, ok, 0)
	}
}

// Watchdog is the runner of a notify liveness probe: a run passes when a
// WATCHDOG=1 arrived within the last period (or watching began less than
// a period ago), and fails otherwise, and always after WATCHDOG=trigger.
func (n *Notify) Watchdog() Runner {
	return Func(func(context.Context) Result {
		n.mu.Lock()
		defer n.mu.Unlock()
		switch since := time.Since(n.lastPing); {
		case n.trigger:
			return Result{Msg: "WATCHDOG=trigger"}
		case since >= n.period:
			return Result{Msg: fmt.Sprintf("no WATCHDOG=1 for %s (WATCHDOG_USEC is %d)",
				since.Truncate(time.Millisecond), n.period.Microseconds())}
		}
		return Result{OK: true}
	})
}
