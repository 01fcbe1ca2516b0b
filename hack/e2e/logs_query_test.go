package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// cli runs the proclet CLI against d and returns its stdout; it fails the
// test when the command fails unless allowFail.
func (d *daemon) cli(t *testing.T, allowFail bool, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(bins.proclet, append(args, "--server", d.base)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil && !allowFail {
		t.Fatalf("proclet %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	if err != nil {
		err = fmt.Errorf("%w: %s", err, stderr.String())
	}
	return string(out), err
}

var timestamped = regexp.MustCompile(`^\[web-0\] \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z (web-0 stdout \d+|--- started pid \d+ revision \S+ ---)$`)

// TestLogs_SinceTimestampsPreviousJSON: the logs command against the built
// daemon: timestamps, since, the previous run after a crash (kill -9),
// JSON lines.
func TestLogs_SinceTimestampsPreviousJSON(t *testing.T) {
	skipShort(t)
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "web.yaml"), appManifest("web", 1, "--stdout-rate", "50"))
	d := startDaemon(t, dir)
	eventually(t, 10*time.Second, "web-0 logs 10 lines", func() bool {
		out, _ := d.cli(t, true, "logs", "web/web-0")
		return strings.Count(out, "\n") >= 10
	})

	out, _ := d.cli(t, false, "logs", "web", "--since", "5m", "--timestamps")
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if len(lines) < 10 || !strings.Contains(lines[0], "--- started pid ") {
		t.Fatalf("logs --since 5m --timestamps: %d lines, the first %q; want the start marker first", len(lines), lines[0])
	}
	for _, l := range lines {
		if !timestamped.MatchString(l) {
			t.Fatalf("line %q is not [web-0] TIME LINE", l)
		}
	}
	if out, _ := d.cli(t, false, "logs", "web/web-0", "--since", time.Now().Add(time.Hour).UTC().Format(time.RFC3339)); out != "" {
		t.Errorf("logs --since an hour ahead: %q, want nothing", out)
	}

	// A crash: the previous run is the one killed, whole, without marker.
	first := d.runningPIDs("web")["web-0"]
	if _, err := d.cli(t, true, "logs", "web/web-0", "--previous"); err == nil {
		t.Error("logs --previous before a second run: no error")
	}
	syscall.Kill(first, syscall.SIGKILL)
	eventually(t, 20*time.Second, "web-0 restarted and logging", func() bool {
		pid := d.runningPIDs("web")["web-0"]
		out, _ := d.cli(t, true, "logs", "web/web-0", "--since", "1h", "--timestamps")
		_, run, started := strings.Cut(out, fmt.Sprintf("--- started pid %d ", pid))
		return pid != 0 && pid != first && started && strings.Contains(run, "web-0 stdout 2\n")
	})
	prev, _ := d.cli(t, false, "logs", "web/web-0", "--previous")
	seqs := strings.Split(strings.TrimSuffix(prev, "\n"), "\n")
	for i, l := range seqs {
		if l != "web-0 stdout "+strconv.Itoa(i+1) {
			t.Fatalf("--previous line %d = %q, want web-0 stdout %d (the crashed run, in order)", i+1, l, i+1)
		}
	}
	if len(seqs) < 10 {
		t.Errorf("--previous: %d lines, want the crashed run's 10 or more", len(seqs))
	}
	prevTS, _ := d.cli(t, false, "logs", "web/web-0", "-p", "--timestamps", "--tail", "1")
	if !regexp.MustCompile(`^\S+Z web-0 stdout ` + strconv.Itoa(len(seqs)) + "\n$").MatchString(prevTS) {
		t.Errorf("-p --timestamps --tail 1 = %q, want the crashed run's last line", prevTS)
	}

	js, _ := d.cli(t, false, "logs", "web", "-o", "json", "--tail", "3")
	recs := strings.Split(strings.TrimSuffix(js, "\n"), "\n")
	if len(recs) != 3 {
		t.Fatalf("-o json --tail 3: %q", js)
	}
	for _, r := range recs {
		var rec struct {
			Time                   time.Time
			Stream, Instance, Line string
		}
		if err := json.Unmarshal([]byte(r), &rec); err != nil || rec.Stream != "stdout" || rec.Instance != "web-0" ||
			!strings.HasPrefix(rec.Line, "web-0 stdout ") || time.Since(rec.Time) > time.Minute {
			t.Errorf("record %s (%v)", r, err)
		}
	}
}

// TestLogs_RemovedAppReadableUntilRetention: the logs of a removed app
// are read from its files; with a short --log-retention the sweep deletes
// them, and they are not found any more.
func TestLogs_RemovedAppReadableUntilRetention(t *testing.T) {
	skipShort(t)
	for _, retention := range []string{"168h", "2s"} {
		t.Run(retention, func(t *testing.T) {
			dir := t.TempDir()
			manifest := filepath.Join(dir, "gone.yaml")
			writeFile(t, manifest, appManifest("gone", 1, "--stdout-rate", "50"))
			writeFile(t, filepath.Join(dir, "web.yaml"), appManifest("web", 1))
			d := startDaemon(t, dir, "--log-retention", retention)
			eventually(t, 10*time.Second, "gone-0 logs 5 lines", func() bool {
				out, _ := d.cli(t, true, "logs", "gone/gone-0")
				return strings.Count(out, "\n") >= 5
			})
			if err := os.Remove(manifest); err != nil {
				t.Fatal(err)
			}
			eventually(t, 20*time.Second, "the app removed", func() bool {
				code, _ := d.getJSON("/api/v1/apps/gone", nil)
				return code == 404
			})
			files := filepath.Join(d.stateDir, "logs", "gone")
			if retention == "168h" {
				out, _ := d.cli(t, false, "logs", "gone/gone-0")
				if !strings.HasPrefix(out, "gone-0 stdout 1\n") || !strings.Contains(out, "gone-0 stdout 5\n") {
					t.Errorf("logs of the removed app: %q", out)
				}
				if _, err := os.Stat(files); err != nil {
					t.Error(err)
				}
				return
			}
			eventually(t, 20*time.Second, "the removed app's logs deleted", func() bool {
				_, err := os.Stat(files)
				return os.IsNotExist(err)
			})
			if _, err := d.cli(t, true, "logs", "gone/gone-0"); err == nil || !strings.Contains(err.Error(), "not found") {
				t.Errorf("logs after the retention: %v, want not found", err)
			}
			if _, err := os.Stat(filepath.Join(d.stateDir, "logs", "web", "web-0.stdout.log")); err != nil {
				t.Errorf("a live instance's log: %v", err)
			}
		})
	}
}
