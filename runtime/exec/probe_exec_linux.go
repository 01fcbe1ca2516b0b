package exec

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"
	"unicode/utf8"

	"golang.org/x/sys/unix"
	"proclet.dev/proclet/runtime/probe"
)

const (
	// probeOutputLimit is the most of an exec probe's output read; the
	// rest is drained and dropped.
	probeOutputLimit = 10 << 10
	// probeMessageLimit is the most of that output quoted in a message.
	probeMessageLimit = 512
	// probeOutputGrace bounds the wait for the output's EOF once the
	// probe's group is dead: only a process that left the group (setsid)
	// can still hold the pipe.
	probeOutputGrace = 100 * time.Millisecond
)

// execProbe is an exec probe: the command runs in the instance's
// environment, working dir and user, in a process group of its own; exit 0
// is success. At the deadline the whole group is killed and the run fails.
// When the command ends, whatever it left in its group (`sleep 100 &`) is
// killed too, and its output pipe is never waited on beyond a short grace,
// so a grandchild holding stdout cannot hang the probe.
type execProbe struct {
	argv []string // $(VAR)-expanded with the instance's environment, as the kubelet does
	env  *envList
	dir  string
	cred *syscall.Credential // nil: the daemon's user
}

// newExecProbe expands command with env, bounded as an instance's command
// is (expandArgv: path names the command, envTotal is the size of the
// spec's environment).
func newExecProbe(path string, command []string, env *envList, envTotal int, dir string, cred *syscall.Credential) (*execProbe, error) {
	argv, err := expandArgv(path, command, env, envTotal)
	if err != nil {
		return nil, err
	}
	return &execProbe{argv: argv, env: env, dir: dir, cred: cred}, nil
}

// Probe runs the command once, in its own process group, which is killed
// when the command exits or ctx is done; the result quotes the start of
// its output.
func (p *execProbe) Probe(ctx context.Context) probe.Result {
	if len(p.argv) == 0 {
		return probe.Result{Msg: "empty command"}
	}
	// Resolved at every run: a later deploy of the binary is picked up.
	path, err := resolveExecutable(p.argv[0], p.dir, p.env)
	if err != nil {
		return probe.Result{Msg: fmt.Sprintf("exec %s: %v", shownArg(p.argv[0]), err)}
	}
	r, w, err := os.Pipe()
	if err != nil {
		return probe.Result{Msg: fmt.Sprintf("exec %s: %v", shownArg(p.argv[0]), err)}
	}
	defer r.Close()
	cmd := &exec.Cmd{
		Path:        path,
		Args:        p.argv,
		Env:         p.env.Environ(),
		Dir:         p.dir,
		Stdout:      w, // an *os.File: exec starts no copying goroutine that Wait would wait for
		Stderr:      w,
		SysProcAttr: &syscall.SysProcAttr{Setpgid: true, Credential: p.cred},
	}
	begin := time.Now()
	err = cmd.Start()
	w.Close()
	if err != nil {
		return probe.Result{Msg: fmt.Sprintf("exec %s: %v", shownArg(p.argv[0]), osErr(err))}
	}
	pid := cmd.Process.Pid
	out := make(chan []byte, 1)
	go func() { out <- readAtMost(r, probeOutputLimit) }() // ends at EOF or when r is closed

	exited := false
	pw, perr := newPidWaiter(pid)
	if perr == nil {
		stop := context.AfterFunc(ctx, pw.Cancel)
		exited = pw.Wait()
		stop()
		pw.Close()
	}
	// The leader is alive or an unreaped zombie, so its pid still names
	// its group: kill the group, whether it timed out or left something
	// behind, then reap.
	unix.Kill(-pid, unix.SIGKILL)
	werr := cmd.Wait()

	t := time.NewTimer(probeOutputGrace)
	var output []byte
	select {
	case output = <-out:
	case <-t.C:
		r.Close()
		output = <-out
	}
	t.Stop()

	if perr != nil {
		return probe.Result{Msg: perr.Error()}
	}
	if !exited {
		if d, ok := ctx.Deadline(); ok && errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return probe.Result{Msg: fmt.Sprintf("command timed out after %v", d.Sub(begin).Round(10*time.Millisecond))}
		}
		return probe.Result{Msg: "command cancelled"}
	}
	if werr == nil {
		return probe.Result{OK: true}
	}
	return probe.Result{Msg: exitMessage(werr, output)}
}

// exitMessage says how a probe command that ran to its end failed (its
// exit code, or the signal that killed it), with its output quoted.
func exitMessage(werr error, output []byte) string {
	msg := werr.Error()
	var ee *exec.ExitError
	if errors.As(werr, &ee) {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			msg = "killed by " + unix.SignalName(ws.Signal())
		} else {
			msg = fmt.Sprintf("exit code %d", ee.ExitCode())
		}
	}
	if s := quoteOutput(output); s != "" {
		msg += ": " + s
	}
	return msg
}

// readAtMost reads r until EOF or an error and returns its first limit
// bytes; the rest is read and dropped, so the writer never blocks on a
// full pipe.
func readAtMost(r io.Reader, limit int64) []byte {
	var b strings.Builder
	io.Copy(&b, io.LimitReader(r, limit))
	io.Copy(io.Discard, r)
	return []byte(b.String())
}

// quoteOutput makes a probe's output fit a one-line message.
func quoteOutput(b []byte) string {
	s := strings.Join(strings.Fields(strings.ToValidUTF8(string(b), "?")), " ")
	if len(s) <= probeMessageLimit {
		return s
	}
	s = s[:probeMessageLimit]
	for !utf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	return s + "…"
}
