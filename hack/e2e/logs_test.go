package e2e

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// criOverhead is what a line of a log file adds to its text: the CRI
// prefix ("TIME stdout P ") and the newline (docs/logging.md).
const criOverhead = len("2026-01-02T15:04:05.000000000Z stdout P ") + 1

func floodManifest(name string, args ...string) string {
	q := []string{fmt.Sprintf("%q", bins.workload)}
	for _, a := range args {
		q = append(q, fmt.Sprintf("%q", a))
	}
	return fmt.Sprintf(`apiVersion: proclet.dev/v1alpha1
kind: App
metadata:
  name: %s
spec:
  command: [%s]
  logs: {maxSize: 1Mi, maxFiles: 2}
`, name, strings.Join(q, ", "))
}

// logSet reads an instance's stdout files, oldest first.
func logSet(t *testing.T, dir, instance string) (names []string, contents [][]byte) {
	t.Helper()
	base := filepath.Join(dir, instance+".stdout.log")
	for _, p := range []string{base + ".3", base + ".2", base + ".1", base} {
		b, err := os.ReadFile(p)
		if os.IsNotExist(err) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		names, contents = append(names, filepath.Base(p)), append(contents, b)
	}
	return names, contents
}

// TestLogs_EndlessLine: an instance printing 50 MiB without a newline, as
// fast as it can, into logs of maxSize 1Mi and maxFiles 2. The daemon
// rotates them all the same: together they stay within about maxSize ×
// (maxFiles + 1), checked all along; the line is cut into marked pieces
// that the logs API serves; the files are the owner's only (0600).
func TestLogs_EndlessLine(t *testing.T) {
	skipShort(t)
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "flood.yaml"), floodManifest("flood", "--flood", "50Mi"))
	d := startDaemon(t, dir)
	logs := filepath.Join(d.stateDir, "logs", "flood")
	const bound = 3 * (1<<20 + 64<<10 + criOverhead) // (maxFiles + 1) × (maxSize + a piece and its prefix)
	deadline := time.Now().Add(2 * time.Minute)
	for checks := 0; ; checks++ {
		_, contents := logSet(t, logs, "flood-0")
		if n := len(bytes.Join(contents, nil)); n > bound {
			t.Fatalf("the log files hold %d bytes, above %d", n, bound)
		}
		d.instances("flood") // records the PID for the cleanup
		errLog, _ := os.ReadFile(filepath.Join(logs, "flood-0.stderr.log"))
		if bytes.Contains(errLog, []byte("flood done")) {
			t.Logf("%d checks while it wrote", checks)
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("timed out waiting for the flood to end")
		}
		time.Sleep(5 * time.Millisecond) // a pace for the checks, not a wait for something
	}
	names, contents := logSet(t, logs, "flood-0")
	if len(names) != 3 {
		t.Errorf("files %v, want the live one and 2 rotated", names)
	}
	for _, n := range names {
		st, err := os.Stat(filepath.Join(logs, n))
		if err != nil || st.Mode().Perm() != 0o600 {
			t.Errorf("%s: mode %v (%v), want 0600", n, st.Mode().Perm(), err)
		}
	}
	if !bytes.Contains(contents[0], []byte(" stdout P ")) {
		t.Errorf("%s holds no P piece of a cut line", names[0])
	}

	// The pieces are one line to the API: its tail of one line is the
	// files' text, joined (more than one file's worth: the daemon may still
	// be rotating as it drains the FIFO).
	resp, err := http.Get(d.base + "/api/v1/apps/flood/instances/flood-0/logs?tail=1")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || len(body) < 1<<20 || bytes.Count(body, []byte("\n")) > 1 {
		t.Errorf("GET logs?tail=1: %d, %d bytes, %d newlines; want one line of the files' text", resp.StatusCode, len(body), bytes.Count(body, []byte("\n")))
	}
}

// TestLogs_FileModeFlag: --log-file-mode 0640 makes the log files (and
// their folder) readable by the group; a mode the daemon could not keep
// writing to, or with execute bits, is refused by name.
func TestLogs_FileModeFlag(t *testing.T) {
	skipShort(t)
	out, err := exec.Command(bins.proclet, "run", "--state-dir", t.TempDir(), "--log-file-mode", "0755").CombinedOutput()
	if err == nil || !strings.Contains(string(out), `--log-file-mode: "0755"`) {
		t.Errorf("--log-file-mode 0755: %v, %s", err, out)
	}
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "web.yaml"), appManifest("web", 1, "--stdout-rate", "100"))
	d := startDaemon(t, dir, "--log-file-mode", "0640")
	path := filepath.Join(d.stateDir, "logs", "web", "web-0.stdout.log")
	eventually(t, 10*time.Second, "web-0 logs a line", func() bool {
		d.instances("web")
		st, err := os.Stat(path)
		return err == nil && st.Size() > 0
	})
	for _, p := range []string{path, filepath.Dir(path)} {
		st, err := os.Stat(p)
		want := os.FileMode(0o640)
		if p != path {
			want = 0o750
		}
		if err != nil || st.Mode().Perm() != want {
			t.Errorf("%s: mode %v (%v), want %v", p, st.Mode().Perm(), err, want)
		}
	}
}
