package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"syscall"
	"time"
)

// daemonRunner starts, kills and restarts bin/proclet on one manifests
// directory and one state directory. Every daemon's stderr is appended to
// one log file, which is also where the API address is read from.
type daemonRunner struct {
	bin       string
	manifests string
	stateDir  string
	env       []string
	logPath   string

	cur    *daemonProc // the latest daemon started (may have exited)
	starts int
}

// daemonProc is one run of the daemon.
type daemonProc struct {
	cmd  *exec.Cmd
	pid  int
	base string        // http://127.0.0.1:port
	done chan struct{} // closed once the process has been reaped
}

var addrRE = regexp.MustCompile(`msg="serving the API".*? addr=(\S+)`)

// start runs a new daemon and waits, at most within, until it serves its
// API. The previous one must be gone (kill or stop first).
func (r *daemonRunner) start(ctx context.Context, within time.Duration) error {
	if r.cur != nil && r.running() {
		return errors.New("start daemon: one is still running")
	}
	logf, err := os.OpenFile(r.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("start daemon: %w", err)
	}
	defer logf.Close()
	r.starts++
	fmt.Fprintf(logf, "=== chaos: daemon start %d at %s ===\n", r.starts, time.Now().Format(time.RFC3339Nano))
	offset, err := logf.Seek(0, io.SeekEnd)
	if err != nil {
		return fmt.Errorf("start daemon: %w", err)
	}
	cmd := exec.Command(r.bin, "run", "--manifests", r.manifests, "--state-dir", r.stateDir,
		"--listen", "127.0.0.1:0", "--sample-interval", "1s")
	cmd.Env = r.env
	cmd.Stdout, cmd.Stderr = logf, logf
	// Its own process group: a ^C at the terminal reaches the chaos
	// program, which decides what happens to the daemon.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start daemon: %w", err)
	}
	p := &daemonProc{cmd: cmd, pid: cmd.Process.Pid, done: make(chan struct{})}
	go func() { _ = cmd.Wait(); close(p.done) }() // reaped here only; kill and stop wait on done
	r.cur = p

	deadline := time.NewTimer(within)
	defer deadline.Stop()
	poll := time.NewTicker(20 * time.Millisecond) // the log file has no change notification
	defer poll.Stop()
	for {
		if addr := r.findAddr(offset); addr != "" {
			p.base = "http://" + addr
			return nil
		}
		select {
		case <-p.done:
			return fmt.Errorf("start daemon: it exited at once (%s):\n%s", cmd.ProcessState, r.logTail(offset, 20))
		case <-ctx.Done():
			return ctx.Err()
		case <-deadline.C:
			return fmt.Errorf("start daemon: no API within %s:\n%s", within, r.logTail(offset, 20))
		case <-poll.C:
		}
	}
}

// findAddr looks for the "serving the API" line written after offset.
func (r *daemonRunner) findAddr(offset int64) string {
	b := r.readLog(offset)
	if m := addrRE.FindSubmatch(b); m != nil {
		return string(m[1])
	}
	return ""
}

func (r *daemonRunner) readLog(offset int64) []byte {
	f, err := os.Open(r.logPath)
	if err != nil {
		return nil
	}
	defer f.Close()
	b, _ := io.ReadAll(io.NewSectionReader(f, offset, 64<<20))
	return b
}

// logTail is the last n lines the daemons wrote after offset.
func (r *daemonRunner) logTail(offset int64, n int) string {
	lines := strings.Split(strings.TrimRight(string(r.readLog(offset)), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return "    " + strings.Join(lines, "\n    ")
}

// running reports whether the current daemon has not exited.
func (r *daemonRunner) running() bool {
	if r.cur == nil {
		return false
	}
	select {
	case <-r.cur.done:
		return false
	default:
		return true
	}
}

// base is the current daemon's API URL.
func (r *daemonRunner) base() string {
	if r.cur == nil {
		return ""
	}
	return r.cur.base
}

// kill SIGKILLs the current daemon and waits, at most within, until it is
// reaped.
func (r *daemonRunner) kill(within time.Duration) error {
	if !r.running() {
		return nil
	}
	_ = syscall.Kill(r.cur.pid, syscall.SIGKILL)
	return r.wait(within)
}

// stop sends SIGTERM (a graceful stop: the daemon stops its instances) and
// waits, at most within, for the daemon to exit.
func (r *daemonRunner) stop(within time.Duration) error {
	if !r.running() {
		return nil
	}
	_ = syscall.Kill(r.cur.pid, syscall.SIGTERM)
	return r.wait(within)
}

func (r *daemonRunner) wait(within time.Duration) error {
	t := time.NewTimer(within)
	defer t.Stop()
	select {
	case <-r.cur.done:
		return nil
	case <-t.C:
		return fmt.Errorf("daemon pid %d still running %s after the signal", r.cur.pid, within)
	}
}

// exitStatus describes how the current daemon ended ("" while it runs).
func (r *daemonRunner) exitStatus() string {
	if r.running() || r.cur == nil || r.cur.cmd.ProcessState == nil {
		return ""
	}
	return r.cur.cmd.ProcessState.String()
}

// daemonLogStats counts the daemons' warnings and errors and collects the
// lines of a panic or a fatal runtime error (with the line after each),
// which are breaches: nothing may crash the daemon.
type daemonLogStats struct {
	warnings, errors int
	crashes          []string
}

func scanDaemonLog(r io.Reader) (daemonLogStats, error) {
	var st daemonLogStats
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 4<<20)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.Contains(line, " level=WARN "):
			st.warnings++
		case strings.Contains(line, " level=ERROR "):
			st.errors++
		case strings.HasPrefix(line, "panic: ") || strings.HasPrefix(line, "fatal error: "):
			st.crashes = append(st.crashes, line)
		}
	}
	if err := sc.Err(); err != nil {
		return st, fmt.Errorf("scan daemon log: %w", err)
	}
	return st, nil
}
