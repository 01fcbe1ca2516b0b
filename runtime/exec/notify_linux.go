package exec

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"proclet.dev/proclet/apis/v1alpha1"

	"proclet.dev/proclet/runtime/probe"
	"proclet.dev/proclet/runtime/procfs"
)

// The bounds of the notify socket (docs/faults.md).
const (
	// notifyBurst and notifyRate are each instance's token bucket: a
	// datagram beyond them is dropped.
	notifyBurst = 32
	notifyRate  = 16 // a second
	// maxNotifyDepth bounds the walk from a sender up its parents to an
	// instance (a descendant that left the instance's group and session).
	maxNotifyDepth = 32
	// maxNotifyPending and notifyPendingTTL bound the datagrams kept from
	// a sender no instance claims yet: one sent between the exec and the
	// registration of its instance is applied then, within the TTL.
	maxNotifyPending = 64
	notifyPendingTTL = 2 * time.Second
	// notifyDropLogEvery is the most often dropped datagrams are logged.
	notifyDropLogEvery = 10 * time.Second
	// maxSunPath is the longest socket path bind(2) takes: sun_path is
	// 108 bytes with its NUL.
	maxSunPath = 107
)

// notifySocketAddr is the notify socket of the state dir stateDir:
// <state-dir>/notify.sock, or, when that path is too long for a socket
// address, the abstract socket @proclet-notify-<hash of the state dir>.
// Either way a daemon that follows another on the state dir binds the same
// address, and its adopted instances' messages reach it.
func notifySocketAddr(stateDir string) string {
	if p := filepath.Join(stateDir, "notify.sock"); len(p) <= maxSunPath {
		return p
	}
	sum := sha256.Sum256([]byte(stateDir))
	return "@proclet-notify-" + hex.EncodeToString(sum[:8])
}

// notifyEnv sets NOTIFY_SOCKET (and WATCHDOG_USEC, with a notify liveness
// probe) for an instance of spec, and removes them, with WATCHDOG_PID, when
// it has no notify probe: the daemon's own (under systemd) must not reach
// an instance.
func notifyEnv(l *envList, spec *v1alpha1.AppSpec, stateDir string) {
	for _, name := range []string{"NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID"} {
		l.Unset(name)
	}
	if !spec.UsesNotify() {
		return
	}
	l.Set("NOTIFY_SOCKET", notifySocketAddr(stateDir))
	if p := spec.WatchdogPeriodSeconds(); p > 0 {
		l.Set("WATCHDOG_USEC", strconv.FormatInt(int64(p)*1_000_000, 10))
	}
}

// notifyListener is the Runtime's notify socket: one unixgram socket with
// SO_PASSCRED for every instance, which tells the instances apart by the
// sender's PID (the kernel's, not a claim).
type notifyListener struct {
	conn *net.UnixConn
	addr string
	log  *slog.Logger
	done chan struct{}
	once sync.Once

	mu       sync.Mutex
	byLeader map[int]*notifyEntry // by the instance's pid (its group and session id)
	byMain   map[int]*notifyEntry // by an accepted MAINPID
	retired  map[int]time.Time    // instances no longer probed: their words are ignored
	pending  []pendingNotify

	drops dropCounter
}

// notifyEntry is one registered instance.
type notifyEntry struct {
	n     *probe.Notify
	pid   int
	start uint64 // the leader's start time: a reused pid is not the instance

	apply     sync.Mutex // one message at a time, in order
	tokens    float64
	filled    time.Time
	mainPID   int    // the accepted MAINPID, 0 for none
	mainStart uint64 // its start time
}

type pendingNotify struct {
	pid int
	msg probe.Message
	at  time.Time
}

// openNotify binds the notify socket at addr (replacing a stale socket a
// killed daemon left there) and starts reading it.
func openNotify(addr string, euid int, log *slog.Logger) (*notifyListener, error) {
	if addr[0] != '@' {
		var st unix.Stat_t
		if err := unix.Lstat(addr, &st); err == nil {
			if st.Mode&unix.S_IFMT != unix.S_IFSOCK {
				return nil, fmt.Errorf("notify socket %s: exists and is not a socket", addr)
			}
			os.Remove(addr)
		}
	}
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: addr, Net: "unixgram"})
	if err != nil {
		return nil, fmt.Errorf("notify socket: %w", err)
	}
	conn.SetReadBuffer(256 << 10) // a burst of every instance's READY=1
	if err := setPassCred(conn); err != nil {
		conn.Close()
		return nil, fmt.Errorf("notify socket %s: SO_PASSCRED: %w", addr, err)
	}
	if addr[0] != '@' {
		// Instances of another user (spec.user, when the daemon is root)
		// must be able to send; the credentials check keeps the rest out.
		mode := os.FileMode(0o600)
		if euid == 0 {
			mode = 0o666
		}
		os.Chmod(addr, mode)
	}
	l := &notifyListener{conn: conn, addr: addr, log: log, done: make(chan struct{}),
		byLeader: map[int]*notifyEntry{}, byMain: map[int]*notifyEntry{}, retired: map[int]time.Time{}}
	go l.serve()
	return l, nil
}

func setPassCred(conn *net.UnixConn) error {
	raw, err := conn.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	if err := raw.Control(func(fd uintptr) {
		serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_PASSCRED, 1)
	}); err != nil {
		return err
	}
	return serr
}

// close stops reading and removes the socket file: a daemon that
// follows binds it again.
func (l *notifyListener) close() {
	if l == nil {
		return
	}
	l.once.Do(func() {
		l.conn.Close()
		<-l.done
		if l.addr[0] != '@' {
			os.Remove(l.addr)
		}
	})
}

// serve reads datagrams until the socket is closed.
func (l *notifyListener) serve() {
	defer close(l.done)
	buf := make([]byte, probe.MaxNotifyMessage+1)
	oob := make([]byte, unix.CmsgSpace(unix.SizeofUcred)+unix.CmsgSpace(4*16))
	for {
		n, oobn, flags, _, err := l.conn.ReadMsgUnix(buf, oob)
		if errors.Is(err, net.ErrClosed) {
			return
		}
		if err != nil {
			l.log.Warn("notify socket read failed", "error", err)
			continue
		}
		pid := senderPID(oob[:oobn])
		switch {
		case pid <= 0:
			l.drops.add(l.log, "no sender credentials", 0)
		case n > probe.MaxNotifyMessage || flags&unix.MSG_TRUNC != 0:
			l.drops.add(l.log, fmt.Sprintf("over %d bytes", probe.MaxNotifyMessage), pid)
		default:
			l.handle(pid, buf[:n], time.Now())
		}
	}
}

// senderPID reads the sender's PID from the control messages, closing
// any file descriptors that came with them.
func senderPID(oob []byte) int {
	msgs, err := unix.ParseSocketControlMessage(oob)
	if err != nil {
		return 0
	}
	pid := 0
	for _, m := range msgs {
		if fds, err := unix.ParseUnixRights(&m); err == nil {
			for _, fd := range fds {
				unix.Close(fd)
			}
		}
		if c, err := unix.ParseUnixCredentials(&m); err == nil {
			pid = int(c.Pid)
		}
	}
	return pid
}

// handle applies one datagram from pid to the instance whose tree pid is
// in, or drops it.
func (l *notifyListener) handle(pid int, b []byte, now time.Time) {
	msg, err := probe.ParseMessage(b)
	if err != nil {
		l.drops.add(l.log, err.Error(), pid)
		return
	}
	l.mu.Lock()
	l.expireLocked(now)
	en, quiet := l.ownerLocked(pid)
	if en == nil {
		if !quiet {
			l.pendLocked(pid, msg, now)
		}
		l.mu.Unlock()
		return
	}
	if !en.take(now) {
		l.mu.Unlock()
		l.drops.add(l.log, fmt.Sprintf("over %d messages a second (burst %d) of one instance", notifyRate, notifyBurst), pid)
		return
	}
	if msg.MainPID != 0 {
		if owner, _ := l.ownerLocked(msg.MainPID); owner != en {
			l.mu.Unlock()
			l.drops.add(l.log, fmt.Sprintf("MAINPID=%d is not in the sender's instance's process tree", msg.MainPID), pid)
			return
		}
		if en.mainPID != 0 && l.byMain[en.mainPID] == en {
			delete(l.byMain, en.mainPID)
		}
		en.mainPID, en.mainStart = msg.MainPID, procfs.StartTicks(msg.MainPID)
		l.byMain[msg.MainPID] = en
	}
	l.mu.Unlock()
	l.applyTo(en, msg)
}

func (l *notifyListener) applyTo(en *notifyEntry, m probe.Message) {
	en.apply.Lock()
	defer en.apply.Unlock()
	en.n.Apply(m, time.Now())
}

// dropCounter counts dropped datagrams and logs them at most every
// notifyDropLogEvery: a flood costs one line per period.
type dropCounter struct {
	mu      sync.Mutex
	total   uint64
	since   uint64 // dropped since the last log line
	lastLog time.Time
}

func (d *dropCounter) add(log *slog.Logger, reason string, pid int) {
	d.mu.Lock()
	d.total++
	d.since++
	now := time.Now()
	if now.Sub(d.lastLog) < notifyDropLogEvery {
		d.mu.Unlock()
		return
	}
	n := d.since
	d.since, d.lastLog = 0, now
	d.mu.Unlock()
	log.Warn("notify messages dropped", "count", n, "reason", reason, "pid", pid)
}

func (d *dropCounter) count() uint64 {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.total
}

// openNotify binds the Runtime's notify socket; without it, notify probes
// never pass (the error is every such instance's message).
func (e *Runtime) openNotify() {
	l, err := openNotify(notifySocketAddr(e.stateDir), e.euid, e.log)
	if err != nil {
		e.log.Error("no notify socket: notify probes will not pass", "error", err)
		e.notifyErr = err.Error()
		return
	}
	e.notify = l
}

// notifyProbes sets up the notify probes of h in w, before its other
// probes are built: the readiness probe (NotifyReady) and the liveness
// probe (a Loop on the watchdog). It returns nil when h has none.
func (e *Runtime) notifyProbes(h *handle, w *probe.Worker) *probe.Notify {
	spec := h.spec.Spec
	if !spec.UsesNotify() {
		return nil
	}
	readiness := spec.ReadinessProbe != nil && spec.ReadinessProbe.Notify != nil
	period := time.Duration(spec.WatchdogPeriodSeconds()) * time.Second
	since := h.live.state.StartedAt
	if h.adopted != nil {
		since = time.Now() // the watchdog counts from the adoption
	}
	n := probe.NewNotify(h.spec.App, h.spec.Instance, readiness, period, since)
	n.Update, n.OnProbe = w.Update, w.OnProbe
	if readiness {
		w.NotifyReady = n.Ready
	}
	if period > 0 {
		w.Liveness = probe.NewLoop(probe.Liveness, spec.LivenessProbe, n.Watchdog())
	}
	return n
}

// registerNotify makes the notify socket apply what h's tree sends to n,
// from the status h has now (adopted: the recorded one), until h's
// probing stops (probeStop then also unregisters it).
func (e *Runtime) registerNotify(h *handle, n *probe.Notify, cancel func()) {
	if n == nil {
		return
	}
	n.Resume(h.live.state.Probe)
	if e.notify == nil {
		h.live.state.Probe.Message = "notify probe: " + e.notifyErr
		return
	}
	unregister := e.notify.register(h.pid, n)
	h.probeStop = func() { cancel(); unregister() }
}

// NotifySocket is the address of the notify socket (NOTIFY_SOCKET), ""
// when it could not be bound.
func (e *Runtime) NotifySocket() string {
	if e.notify == nil {
		return ""
	}
	return e.notify.addr
}
