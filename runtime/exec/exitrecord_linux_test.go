package exec

import (
	"fmt"
	"os"
	"os/user"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"proclet.dev/proclet/apis/v1alpha1"
	"proclet.dev/proclet/runtime"
)

// recorded is s started through the waiting shim.
func recorded(s runtime.StartSpec) runtime.StartSpec {
	s.RecordExit = true
	return s
}

// commandOf is the shim pid's command (its child), checked to be one.
func commandOf(t *testing.T, pid int) int {
	t.Helper()
	var c int
	waitFor(t, 5*time.Second, "the shim's child", func() bool { c = shimChild(pid); return c > 0 })
	return c
}

// TestWaitShim_ExitCode: an instance started with RecordExit is the
// waiting shim, whose child is the command in its group and session; the
// exit code 3 is the instance's, and its record is gone once reaped.
func TestWaitShim_ExitCode(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	s := recorded(h.spec(workload, "--exit-after", "300ms", "--exit-code", "3"))
	st := h.start(s)
	child := commandOf(t, st.PID)
	if cs, ok := readProcStat(child); !ok || cs.pgid != st.PID {
		t.Fatalf("child %d of the shim %d: %+v, %v (not in its group)", child, st.PID, cs, ok)
	}
	got := h.waitExit(s.UID, 10*time.Second)
	if got.Exit.Code != 3 || got.Exit.Reason != "Error" || got.Exit.Signal != "" {
		t.Fatalf("exit %+v, want code 3", got.Exit)
	}
	if _, err := os.Stat(h.e.exitRecordPath(s.UID)); !isNotExist(err) {
		t.Fatalf("exit record left after the reap: %v", err) // the daemon has the status: nobody needs it
	}
}

// TestWaitShim_SignalDeath: a command killed by a signal (sent to it
// alone) is reported as that signal, as without the shim.
func TestWaitShim_SignalDeath(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	s := recorded(h.spec(workload))
	st := h.start(s)
	unix.Kill(commandOf(t, st.PID), unix.SIGKILL)
	got := h.waitExit(s.UID, 10*time.Second)
	if got.Exit.Code != 137 || got.Exit.Signal != "SIGKILL" {
		t.Fatalf("exit %+v, want SIGKILL", got.Exit)
	}
}

// TestWaitShim_StopSameStatus: the stop path's signal reaches the command
// through the shim, and the exit is what it is without the shim: SIGTERM
// (the workload exits 0), SIGHUP (it dies of it), SIGABRT (Go's crash,
// exit 2), SIGUSR1 (sleep dies of it).
func TestWaitShim_StopSameStatus(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	for _, sig := range []unix.Signal{unix.SIGTERM, unix.SIGHUP, unix.SIGABRT, unix.SIGUSR1} {
		var exits []v1alpha1.ExitStatus
		for _, record := range []bool{false, true} {
			s := h.spec(workload)
			s.RecordExit = record
			var st runtime.State
			if sig == unix.SIGUSR1 { // the workload (Go) ignores it
				s.Spec.Command = []string{"/bin/sleep", "60"}
				st = h.start(s)
			} else {
				st = h.startReady(s)
			}
			if record {
				commandOf(t, st.PID) // through the shim
			}
			if err := h.e.Stop(s.UID, runtime.StopSpec{Signal: sig, Grace: 20 * time.Second, Reason: "Stopped"}); err != nil {
				t.Fatal(err)
			}
			got := h.waitExit(s.UID, 15*time.Second) // under the grace: the signal did it
			exits = append(exits, *got.Exit)
		}
		plain, shimmed := exits[0], exits[1]
		if plain.Code != shimmed.Code || plain.Signal != shimmed.Signal || shimmed.Reason != "Stopped" {
			t.Errorf("%v: without the shim %+v, through it %+v", sig, plain, shimmed)
		}
		if sig == unix.SIGTERM && plain.Code != 0 {
			t.Errorf("SIGTERM: exit %+v, want 0", plain)
		}
	}
}

// TestWaitShim_AdoptedExit: after a daemon restart, the exit code of an
// adopted instance (exit 3, and a signal death after the adoption) is the
// recorded one.
func TestWaitShim_AdoptedExit(t *testing.T) { // not parallel: its zombies (after Detach) are reaped at the end
	a := newHarness(t)
	s3 := recorded(a.spec(workload, "--announce", "--exit-after", "2s", "--exit-code", "3"))
	st3 := a.start(s3)
	sk := recorded(a.spec(workload, "--announce"))
	stk := a.start(sk)
	a.waitLog(sk, "stderr", "ready pid=", 5*time.Second)
	a.detach()
	b := a.reopen(nil)
	byState := func(uid string) runtime.State { return byUID(b.Instances("web"))[uid] }
	if got := byState(s3.UID); got.PID != st3.PID {
		t.Fatalf("not adopted: %+v", got) // running, or exited already on a slow host: the code is 3 either way
	}
	if got := byState(sk.UID); got.PID != stk.PID || got.Exit != nil {
		t.Fatalf("not adopted running: %+v", got)
	}
	unix.Kill(commandOf(t, stk.PID), unix.SIGKILL)
	for uid, want := range map[string]v1alpha1.ExitStatus{s3.UID: {Code: 3, Reason: "Error"}, sk.UID: {Code: 137, Signal: "SIGKILL", Reason: "Error"}} {
		var got runtime.State
		waitFor(t, 10*time.Second, "exit of "+uid, func() bool { got = byState(uid); return got.Exit != nil })
		if got.Exit.Code != want.Code || got.Exit.Signal != want.Signal || got.Exit.Reason != want.Reason {
			t.Fatalf("%s: exit %+v, want %+v", uid, got.Exit, want)
		}
		b.Release(uid)
		if _, err := os.Stat(b.exitRecordPath(uid)); !isNotExist(err) {
			t.Fatalf("exit record left after the release: %v", err)
		}
	}
}

// TestWaitShim_ExitedWhileAway: an instance whose command exited 0 while
// no daemon ran is reported Completed by the next one, not Unknown.
func TestWaitShim_ExitedWhileAway(t *testing.T) { // not parallel: its zombies (after Detach) are reaped at the end
	a := newHarness(t)
	s := recorded(a.spec(workload, "--announce"))
	st := a.start(s)
	child := commandOf(t, st.PID)
	a.waitLog(s, "stderr", "ready pid=", 5*time.Second)
	a.detach()
	unix.Kill(child, unix.SIGTERM) // the workload exits 0 on SIGTERM
	var ws unix.WaitStatus
	unix.Wait4(st.PID, &ws, 0, nil) // we are the shim's parent here
	if !ws.Exited() || ws.ExitStatus() != 0 {
		t.Fatalf("shim ended %v, want exit 0", ws)
	}
	b := a.reopen(nil)
	got := byUID(b.Instances("web"))[s.UID]
	if got.Exit == nil || got.Exit.Code != 0 || got.Exit.Reason != "Completed" {
		t.Fatalf("exit %+v, want Completed", got.Exit)
	}
}

// TestWaitShim_Sockets: with sockets, the waiting shim runs the sockets
// shim as its child: the command gets the socket as fd 3 and LISTEN_PID
// is its own PID (not the waiting shim's), and it serves.
func TestWaitShim_Sockets(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	port := freeTCPPort(t)
	s := recorded(h.spec(workload, "--print-env", "--socket", "http"))
	s.Spec.Sockets = []v1alpha1.SocketSpec{{Name: "http", Port: port, Host: "127.0.0.1"}}
	st := h.start(s)
	child := commandOf(t, st.PID)
	env := envOf(h.waitLog(s, "stdout", "PROCLET_UID=", 5*time.Second))
	if env["LISTEN_PID"] != strconv.Itoa(child) || env["LISTEN_FDS"] != "1" {
		t.Fatalf("LISTEN_PID=%q LISTEN_FDS=%q; the shim is %d, its child %d", env["LISTEN_PID"], env["LISTEN_FDS"], st.PID, child)
	}
	inode := h.e.ports.SocketInodes()["127.0.0.1:"+strconv.Itoa(int(port))]
	holds(t, child, inode)
	holds(t, st.PID, inode) // the next daemon takes it back from the shim
	waitFor(t, 10*time.Second, "the command answers on the socket", func() bool {
		_, err := get(port)
		return err == nil
	})
}

// TestWaitShim_RunsAsUser: with a user, the shim stays the daemon's user
// (it writes the record) and its command runs as the user; an adopting
// daemon sees the user's credential (what exec probes run as).
func TestWaitShim_RunsAsUser(t *testing.T) {
	t.Parallel()
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	nobody, err := user.Lookup("nobody")
	if err != nil {
		t.Skip("no user nobody")
	}
	h := newHarness(t)
	s := recorded(h.spec(workload, "--print-env"))
	s.Spec.User = "nobody"
	s.Spec.WorkingDir = "/"
	st := h.start(s)
	child := commandOf(t, st.PID)
	h.waitLog(s, "stdout", "USER=nobody", 5*time.Second)
	status, err := os.ReadFile("/proc/" + strconv.Itoa(child) + "/status")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(status), "\nUid:\t"+nobody.Uid+"\t") {
		t.Errorf("command does not run as nobody (%s):\n%s", nobody.Uid, status)
	}
	if c := h.e.adoptedCred(st.PID); c == nil || strconv.Itoa(int(c.Uid)) != nobody.Uid {
		t.Errorf("adopted credential %+v, want nobody's", c)
	}
}

// TestWaitShim_HostileRecord: a record that is not the shim's (too big,
// another PID, out-of-range values, a link, not JSON) is refused, and the
// exit is Unknown.
func TestWaitShim_HostileRecord(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	path := h.e.exitRecordPath("u1")
	os.Mkdir(exitsDir(h.e.runDir), 0o700)
	for name, content := range map[string]string{
		"big":      `{"pid":42,"code":3,"signal":0,"at":1}` + strings.Repeat(" ", maxExitRecord),
		"pid":      `{"pid":43,"code":3,"signal":0,"at":1}`,
		"code":     `{"pid":42,"code":300,"signal":0,"at":1}`,
		"signal":   `{"pid":42,"code":0,"signal":99,"at":1}`,
		"unknown":  `{"pid":42,"code":0,"signal":0,"at":1,"x":1}`,
		"not json": "\x00\x01",
		"link":     "",
	} {
		os.Remove(path)
		if name == "link" {
			other := path + ".target"
			os.WriteFile(other, []byte(`{"pid":42,"code":3,"signal":0,"at":1}`), 0o600)
			os.Symlink(other, path)
		} else if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		x, known := h.e.adoptedExit("u1", 42, time.Now())
		if known || x.Code != unknownExitCode || x.Reason != ExitReasonUnknown {
			t.Errorf("%s: %+v, %v; want Unknown", name, x, known)
		}
	}
	os.Remove(path)
	os.WriteFile(path, []byte(`{"pid":42,"code":3,"signal":0,"at":1}`+"\n"), 0o600)
	if x, known := h.e.adoptedExit("u1", 42, time.Now()); !known || x.Code != 3 {
		t.Errorf("a good record: %+v, %v", x, known)
	}
}

// TestWaitShim_Notify: the command, the shim's child, is of the
// instance's tree: its READY=1 and STATUS= count.
func TestWaitShim_Notify(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	s := recorded(h.notifySpec(workload, "--notify-ready-after", "100ms", "--notify-status", "up"))
	st := h.start(s)
	commandOf(t, st.PID)
	waitFor(t, 5*time.Second, "ready through the shim", func() bool { p := h.probeOf(s.UID); return p.Ready && p.Message == "up" })
}

// TestWaitShim_ListenFDsWithoutSockets: LISTEN_FDS in the spec's env,
// without sockets, hands the command no fd 3 (in the shim, a file the Go
// runtime holds, or nothing): exit 4, not 5.
func TestWaitShim_ListenFDsWithoutSockets(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	s := recorded(h.spec("/bin/sh", "-c", "[ -e /proc/self/fd/3 ] && exit 5; exit 4"))
	s.Spec.Env = []v1alpha1.EnvVar{{Name: "LISTEN_FDS", Value: "3"}}
	h.start(s)
	if got := h.waitExit(s.UID, 10*time.Second); got.Exit.Code != 4 {
		t.Fatalf("exit %+v, want 4: fd 3 handed to the command", got.Exit)
	}
}

// TestWaitShim_OpenFilesAndEnv: the openFiles limit is the command's
// (the rlimit shell is the shim's child), and the command's environment
// is what it is without the shim.
func TestWaitShim_OpenFilesAndEnv(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	var envs []map[string]string
	for _, record := range []bool{false, true} {
		s := h.spec(workload, "--print-rlimit", "--print-env")
		s.RecordExit = record
		n := int64(1234)
		s.Spec.Resources.Limits.OpenFiles = &n
		st := h.start(s)
		h.waitLog(s, "stdout", "rlimit nofile soft=1234 hard=1234\n", 5*time.Second)
		env := envOf(h.waitLog(s, "stdout", "PROCLET_UID=", 5*time.Second))
		if record {
			child := commandOf(t, st.PID)
			if cmdline, _ := os.ReadFile("/proc/" + strconv.Itoa(child) + "/cmdline"); !strings.Contains(string(cmdline), "--print-rlimit") {
				t.Errorf("the shim's child %d runs %q, not the workload", child, cmdline)
			}
		}
		for _, k := range []string{"PROCLET_UID", "PROCLET_INSTANCE", "PROCLET_INDEX"} {
			delete(env, k) // the instance's own
		}
		envs = append(envs, env)
	}
	if fmt.Sprint(envs[0]) != fmt.Sprint(envs[1]) {
		t.Errorf("environment without the shim:\n%v\nthrough it:\n%v", envs[0], envs[1])
	}
}
