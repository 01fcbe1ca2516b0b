package exec

import (
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// fakeNotifier is a readableNotifier whose "readable" is the test's call.
type fakeNotifier struct {
	refuse bool

	mu   sync.Mutex
	fd   int
	fire func()
	once sync.Once
}

func (n *fakeNotifier) onReadable(fd int, fire func()) (func(), bool) {
	if n.refuse {
		return nil, false
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	n.fd, n.fire = fd, fire
	return n.readable, true
}

// readable runs the held-back function, once, as the poller does.
func (n *fakeNotifier) readable() {
	n.mu.Lock()
	fire := n.fire
	n.mu.Unlock()
	if fire != nil {
		n.once.Do(func() { go fire() })
	}
}

// testWaiter is a pidWaiter on a pipe: closing w is the process's exit.
func testWaiter(t *testing.T) (*pidWaiter, *os.File) {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close(); w.Close() })
	return &pidWaiter{f: r}, w
}

// runWaiter returns the body of a waiter goroutine and the channel that
// gets what its Wait returned.
func runWaiter(pw *pidWaiter) (func(), chan bool) {
	got := make(chan bool, 1)
	return func() { got <- pw.Wait() }, got
}

func waitResult(t *testing.T, got chan bool, what string) bool {
	t.Helper()
	select {
	case ok := <-got:
		return ok
	case <-time.After(10 * time.Second):
		t.Fatalf("%s: the waiter goroutine did not run", what)
		return false
	}
}

// A pidWaiter holds its goroutine back through the notifier until the
// exit, or until Cancel, and runs it at once when nothing can hold it
// back: it needs nothing of the output poller.
func TestPidWaiter_StartThroughNotifier(t *testing.T) {
	t.Run("held back until readable", func(t *testing.T) {
		pw, w := testWaiter(t)
		n := &fakeNotifier{}
		run, got := runWaiter(pw)
		pw.start(n, run)
		if _, fd, _ := rawFD(pw.f); n.fd != fd {
			t.Fatalf("notifier watches fd %d, want the waiter's %d", n.fd, fd)
		}
		select {
		case <-got:
			t.Fatal("the waiter goroutine ran before the exit")
		default:
		}
		w.Close() // the exit
		n.readable()
		if !waitResult(t, got, "exit") {
			t.Error("Wait = false after the exit, want true")
		}
	})
	t.Run("cancel after start fires it now", func(t *testing.T) {
		pw, _ := testWaiter(t)
		n := &fakeNotifier{}
		run, got := runWaiter(pw)
		pw.start(n, run)
		pw.Cancel()
		if waitResult(t, got, "cancel") {
			t.Error("Wait = true after Cancel, want false")
		}
	})
	t.Run("cancel before start", func(t *testing.T) {
		pw, _ := testWaiter(t)
		n := &fakeNotifier{}
		pw.Cancel()
		run, got := runWaiter(pw)
		pw.start(n, run)
		if waitResult(t, got, "cancelled start") {
			t.Error("Wait = true after Cancel, want false")
		}
		if n.fire != nil {
			t.Error("a cancelled waiter was handed to the notifier")
		}
	})
	t.Run("notifier refuses", func(t *testing.T) {
		pw, w := testWaiter(t)
		run, got := runWaiter(pw)
		pw.start(&fakeNotifier{refuse: true}, run)
		w.Close() // the goroutine runs now and blocks in Wait until the exit
		if !waitResult(t, got, "refused") {
			t.Error("Wait = false after the exit, want true")
		}
	})
}

// The output poller runs a function held back on an fd once it is
// readable, or once asked to, exactly once; with nothing left to watch its
// loop ends.
func TestOutputPoller_OnReadable(t *testing.T) {
	for _, byNow := range []bool{false, true} {
		name := map[bool]string{false: "readable", true: "now"}[byNow]
		t.Run(name, func(t *testing.T) {
			e := &Runtime{log: slog.New(slog.DiscardHandler)}
			p := newOutputPoller(e)
			r, w, err := os.Pipe()
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			defer w.Close()
			_, fd, _ := rawFD(r)
			var fired atomic.Int32
			now, ok := p.onReadable(fd, func() { fired.Add(1) })
			if !ok {
				t.Fatal("onReadable refused a pipe")
			}
			if fired.Load() != 0 {
				t.Fatal("fired before the fd was readable")
			}
			if byNow {
				now()
			} else {
				w.Write([]byte{1})
			}
			waitFor(t, 10*time.Second, "the held-back function", func() bool { return fired.Load() == 1 })
			now() // after it fired: nothing more
			loopDone := make(chan struct{})
			go func() { e.wg.Wait(); close(loopDone) }()
			select {
			case <-loopDone:
			case <-time.After(10 * time.Second):
				t.Fatal("the loop did not end with nothing left to watch")
			}
			p.mu.Lock()
			left, epfd := len(p.watches), p.epfd
			p.mu.Unlock()
			if left != 0 || epfd != -1 || fired.Load() != 1 {
				t.Errorf("after the fire: %d watches, epfd %d, fired %d times; want 0, -1, 1", left, epfd, fired.Load())
			}
		})
	}
}

// A running instance costs the daemon one pidfd, the waiter's: the
// os.Process of its start is let go (it would hold a second).
func TestStart_OnePidfdPerInstance(t *testing.T) {
	h := newHarness(t)
	var pids []int
	for range 3 {
		pids = append(pids, h.start(h.spec(workload)).PID)
	}
	// The waiter's pidfd is opened by Start; count them now.
	for _, pid := range pids {
		if n := pidfdsOf(pid); n != 1 {
			t.Errorf("pid %d: %d pidfds in the daemon's table, want 1", pid, n)
		}
	}
	unix.Kill(pids[0], unix.SIGKILL)
	st := h.waitExit("uid-0", 10*time.Second)
	if st.Exit == nil || st.Exit.Signal != "SIGKILL" || st.Exit.Code != 128+9 {
		t.Errorf("exit of a stopped instance, reaped by pid: %+v", st.Exit)
	}
}
