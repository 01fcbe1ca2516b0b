package exec

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"proclet.dev/proclet/runtime/probe"
)

// newTestExecProbe is an exec probe of command with env and a working dir
// as an instance would have them; $DIR names the dir too.
func newTestExecProbe(t *testing.T, env []string, command ...string) (*execProbe, string) {
	t.Helper()
	dir := t.TempDir()
	env = append([]string{"PATH=/usr/local/bin:/usr/bin:/bin", "DIR=" + dir}, env...)
	p, err := newExecProbe("exec.command", command, newEnvList(env), 0, dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	return p, dir
}

// readPID waits for a pid written by a probe into path and registers a
// kill of it for the end of the test.
func readPID(t *testing.T, path string) int {
	t.Helper()
	var pid int
	waitFor(t, 5*time.Second, "pid in "+path, func() bool {
		b, err := os.ReadFile(path)
		if err != nil || !strings.HasSuffix(string(b), "\n") {
			return false
		}
		pid, err = strconv.Atoi(strings.TrimSpace(string(b)))
		return err == nil
	})
	t.Cleanup(func() { unix.Kill(pid, unix.SIGKILL) })
	return pid
}

// Commands are $(VAR)-expanded as in Kubernetes: the shell's $$ is written $$$$.
func TestExecProbe_ExitCodeAndOutput(t *testing.T) {
	p, _ := newTestExecProbe(t, nil, "true")
	if res, _ := runProbe(p, 5*time.Second); !res.OK {
		t.Errorf("true: %+v", res)
	}
	p, _ = newTestExecProbe(t, nil, "sh", "-c", "echo not; echo healthy >&2; exit 3")
	res, _ := runProbe(p, 5*time.Second)
	if res.OK || res.Msg != "exit code 3: not healthy" {
		t.Errorf("exit 3: %+v, want the code and the output", res)
	}
	p, _ = newTestExecProbe(t, nil, "sh", "-c", "kill -TERM $$$$")
	if res, _ := runProbe(p, 5*time.Second); res.OK || res.Msg != "killed by SIGTERM" {
		t.Errorf("killed: %+v", res)
	}
	p, _ = newTestExecProbe(t, nil, "no-such-probe-binary")
	if res, _ := runProbe(p, 5*time.Second); res.OK || !strings.Contains(res.Msg, "exec no-such-probe-binary: executable file not found") {
		t.Errorf("missing binary: %+v", res)
	}
}

func TestExecProbe_LongOutputIsCutNotBlocking(t *testing.T) {
	// 1 MiB of output: more than the pipe holds and than is read.
	p, _ := newTestExecProbe(t, nil, "sh", "-c", "head -c 1048576 /dev/zero | tr '\\0' x; exit 1")
	res, took := runProbe(p, 5*time.Second)
	if res.OK || !strings.HasPrefix(res.Msg, "exit code 1: xxx") || len(res.Msg) > probeMessageLimit+32 || took > 3*time.Second {
		t.Errorf("result %.60q (%d bytes) after %v", res.Msg, len(res.Msg), took)
	}
}

func TestExecProbe_EnvironmentDirAndExpansion(t *testing.T) {
	// $(DIR) and $(PROBE_WANT) are expanded by proclet, $DIR and
	// $PROBE_WANT by the shell.
	p, _ := newTestExecProbe(t, []string{"PROBE_WANT=yes"},
		"sh", "-c", `test "$PROBE_WANT" = yes && test "$(pwd)" = "$DIR" && test "$1" = "$DIR" && test "$2" = yes`, "sh", "$(DIR)", "$(PROBE_WANT)")
	if res, _ := runProbe(p, 5*time.Second); !res.OK {
		t.Errorf("probe in the instance's env and dir: %+v (argv %q)", res, p.argv)
	}
}

func TestExecProbe_TimeoutKillsTheGroup(t *testing.T) {
	p, dir := newTestExecProbe(t, nil, "sh", "-c", `echo $$$$ > "$DIR/pid"; exec sleep 100`)
	res, took := runProbe(p, time.Second)
	pid := readPID(t, filepath.Join(dir, "pid"))
	if res.OK || res.Msg != "command timed out after 1s" {
		t.Errorf("result %+v, want a timeout", res)
	}
	if took < time.Second || took > 3*time.Second {
		t.Errorf("returned after %v, want about 1s", took)
	}
	if alive(pid) {
		t.Errorf("sleep %d still alive after the timeout", pid)
	}
}

// the probe command forks `sleep 100 &`, which holds its stdout.
func TestExecProbe_GrandchildHoldingStdout(t *testing.T) {
	t.Run("the command hangs: timeout, failure, group killed", func(t *testing.T) {
		p, dir := newTestExecProbe(t, nil, "sh", "-c", `echo $$$$ > "$DIR/sh"; sleep 100 & echo $! > "$DIR/sleep"; wait`)
		res, took := runProbe(p, time.Second)
		sh, sleep := readPID(t, filepath.Join(dir, "sh")), readPID(t, filepath.Join(dir, "sleep"))
		if res.OK || !strings.Contains(res.Msg, "timed out") {
			t.Errorf("result %+v, want a timeout failure", res)
		}
		if took > 3*time.Second {
			t.Errorf("returned after %v, want about 1s", took)
		}
		if alive(sh) {
			t.Errorf("the probe's shell %d still alive", sh)
		}
		waitFor(t, 2*time.Second, "the sleep of the probe's group to die", func() bool { return !alive(sleep) })
	})
	t.Run("the command exits: success at once, leftover killed", func(t *testing.T) {
		p, dir := newTestExecProbe(t, nil, "sh", "-c", `sleep 100 & echo $! > "$DIR/sleep"; echo done`)
		res, took := runProbe(p, 5*time.Second)
		sleep := readPID(t, filepath.Join(dir, "sleep"))
		if !res.OK || took > 2*time.Second {
			t.Errorf("result %+v after %v, want a success at once", res, took)
		}
		waitFor(t, 5*time.Second, "the leftover sleep to die", func() bool { return !alive(sleep) })
	})
	t.Run("a grandchild that left the group keeps stdout: not waited for", func(t *testing.T) {
		p, dir := newTestExecProbe(t, nil, "sh", "-c", `setsid sh -c 'echo $$$$ > "$DIR/escaped"; exec sleep 100' & sleep 0.2; exit 0`)
		res, took := runProbe(p, 5*time.Second)
		readPID(t, filepath.Join(dir, "escaped")) // killed at cleanup
		if !res.OK || took > 2*time.Second {
			t.Errorf("result %+v after %v, want a success without waiting for the escaped holder of stdout", res, took)
		}
	})
}

// runProbe runs r once with timeout, as a probe worker does.
func runProbe(r probe.Runner, timeout time.Duration) (probe.Result, time.Duration) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	begin := time.Now()
	res := r.Probe(ctx)
	return res, time.Since(begin)
}
