package e2e

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// lineReader collects a command's output lines as they come.
type lineReader struct {
	lines chan string
}

func readLines(t *testing.T, cmd *exec.Cmd) *lineReader {
	t.Helper()
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	lr := &lineReader{lines: make(chan string, 1000)}
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			lr.lines <- sc.Text()
		}
		close(lr.lines)
	}()
	return lr
}

// waitFor returns the first line for which match is true, failing the
// test after within; seen collects every line read.
func (lr *lineReader) waitFor(t *testing.T, within time.Duration, what string, seen *[]string, match func(string) bool) string {
	t.Helper()
	deadline := time.NewTimer(within)
	defer deadline.Stop()
	for {
		select {
		case l, ok := <-lr.lines:
			if !ok {
				t.Fatalf("output ended before %s:\n%s", what, strings.Join(*seen, "\n"))
			}
			*seen = append(*seen, l)
			if match(l) {
				return l
			}
		case <-deadline.C:
			t.Fatalf("no %s within %s:\n%s", what, within, strings.Join(*seen, "\n"))
		}
	}
}

func fields(l string) []string { return strings.Fields(l) }

// TestCLI_GetWatchPrintsRows: `get instances -w` prints the table, then a
// row for each change the daemon's watch reports, until Ctrl-C (exit 0).
func TestCLI_GetWatchPrintsRows(t *testing.T) {
	skipShort(t)
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "web.yaml"), appManifest("web", 1))
	d := startDaemon(t, dir)
	eventually(t, 20*time.Second, "web-0 running", func() bool { return len(d.runningPIDs("web")) == 1 })

	cmd := exec.Command(bins.proclet, "get", "instances", "web", "-w", "--server", d.base)
	lr := readLines(t, cmd)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	var seen []string
	lr.waitFor(t, 10*time.Second, "header", &seen, func(l string) bool { return strings.HasPrefix(l, "NAME ") })
	lr.waitFor(t, 10*time.Second, "web-0's row", &seen, func(l string) bool {
		f := fields(l)
		return len(f) > 1 && f[0] == "web-0" && f[1] == "Running"
	})
	// Ask the daemon for the watch only now: rows printed from here on
	// are the watch's.
	writeFile(t, filepath.Join(dir, "web.yaml"), appManifest("web", 2))
	lr.waitFor(t, 20*time.Second, "a row of web-1 running", &seen, func(l string) bool {
		f := fields(l)
		return len(f) > 3 && f[0] == "web-1" && f[1] == "Running" && f[3] != "-"
	})
	if err := os.Remove(filepath.Join(dir, "web.yaml")); err != nil {
		t.Fatal(err)
	}
	deleted := map[string]bool{}
	lr.waitFor(t, 30*time.Second, "web-0 and web-1 deleted (in any order)", &seen, func(l string) bool {
		if f := fields(l); len(f) > 1 && f[1] == "Deleted" {
			deleted[f[0]] = true
		}
		return deleted["web-0"] && deleted["web-1"]
	})
	// Rows are aligned under the header's columns.
	col := strings.Index(seen[0], "PHASE")
	for _, l := range seen[1:] {
		if len(l) <= col || l[col-1] != ' ' || l[col] == ' ' {
			t.Errorf("row not aligned under PHASE (column %d): %q", col, l)
		}
	}
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("get -w after Ctrl-C: %v", err)
	}
}

// TestCLI_BrokenManifestShows: get manifests names the file, its state and
// the line of its problem; describe of the new app it was meant to define
// says so; logs of an instance's name alone resolves its app.
func TestCLI_BrokenManifestShows(t *testing.T) {
	skipShort(t)
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "web.yaml"), appManifest("web", 1, "--stdout-rate", "20"))
	writeFile(t, filepath.Join(dir, "api.yaml"), strings.Replace(appManifest("api", 1), "replicas: 1", "replicas: many", 1))
	d := startDaemon(t, dir)
	eventually(t, 20*time.Second, "web-0 running", func() bool { return len(d.runningPIDs("web")) == 1 })
	code, out, errOut := proclet(t, "get", "manifests", "--server", d.base)
	if code != 0 || !strings.Contains(out, "api.yaml   Invalid   -      api.yaml:6: spec.replicas: ") ||
		!strings.Contains(out, "web.yaml   Applied   web    -\n") {
		t.Errorf("get manifests: code %d, stderr %q\n%s", code, errOut, out)
	}
	code, _, errOut = proclet(t, "describe", "api", "--server", d.base)
	if code != 1 || !strings.HasPrefix(errOut, `proclet describe: app "api" is not running: its manifest api.yaml has a problem: api.yaml:6: spec.replicas: `) {
		t.Errorf("describe api: code %d, stderr %q", code, errOut)
	}
	eventually(t, 10*time.Second, "web-0 wrote", func() bool {
		code, out, _ := proclet(t, "logs", "web-0", "--server", d.base)
		return code == 0 && out != ""
	})
	if code, out, errOut := proclet(t, "logs", "web-0", "--tail", "1", "--server", d.base); code != 0 || strings.Count(out, "\n") != 1 || strings.HasPrefix(out, "[") {
		t.Errorf("logs web-0: code %d, stdout %q, stderr %q", code, out, errOut)
	}
}

// TestCLI_TmuxCompletesAnAppName types `proclet logs webf<Tab>` in bash
// under tmux, with the completion script loaded, and sees the app's name
// the running daemon gave.
func TestCLI_TmuxCompletesAnAppName(t *testing.T) {
	skipShort(t)
	// bash completion scripts (cobra's, kubectl's) need the
	// bash-completion package's functions.
	const bashCompletion = "/usr/share/bash-completion/bash_completion"
	_, err := exec.LookPath("tmux")
	if err == nil {
		_, err = os.Stat(bashCompletion)
	}
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("tmux or bash-completion is not installed (.ci/run installs both): %v", err)
		}
		t.Skipf("the terminal check of bash completion needs tmux and bash-completion: %v", err)
	}
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "webfront.yaml"), appManifest("webfront", 1))
	d := startDaemon(t, dir)
	eventually(t, 20*time.Second, "webfront-0 running", func() bool { return len(d.runningPIDs("webfront")) == 1 })

	// A server of our own (-L): other tmux sessions are never touched.
	sock := fmt.Sprintf("proclet-e2e-%d", os.Getpid())
	tmux := func(args ...string) string {
		t.Helper()
		out, err := exec.Command("tmux", append([]string{"-L", sock}, args...)...).CombinedOutput()
		if err != nil {
			t.Fatalf("tmux %q: %v: %s", args, err, out)
		}
		return string(out)
	}
	home := t.TempDir()
	tmux("-f", "/dev/null", "new-session", "-d", "-x", "200", "-y", "40", "env", "-i", "HOME="+home, "TERM=xterm",
		"PATH="+bins.dir+":/usr/bin:/bin", "PROCLET_SERVER="+d.base, "bash", "--norc", "--noprofile")
	t.Cleanup(func() { _ = exec.Command("tmux", "-L", sock, "kill-server").Run() })
	tmux("send-keys", "source "+bashCompletion+"; source <(proclet completion bash)", "Enter")
	tmux("send-keys", "proclet logs webf", "Tab")
	deadline := time.Now().Add(10 * time.Second)
	for {
		screen := tmux("capture-pane", "-p")
		if strings.Contains(screen, "proclet logs webfront") {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("no completion of webfront within 10s; the screen:\n%s", screen)
		}
		time.Sleep(50 * time.Millisecond) // polling the screen: tmux has no event for it
	}
}
