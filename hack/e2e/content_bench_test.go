package e2e

import (
	"bufio"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"proclet.dev/proclet/apis/v1alpha1"
	"proclet.dev/proclet/watchers"
)

// BenchmarkContentRollout measures the time from a new binary renamed
// into place to the first instance of the new revision Ready (no
// readiness probe: Ready once started), polling the API every 2 ms.
// "prepared": the binary was written more than the quiet window before
// the rename (a deploy that uploads, then switches); "fresh": written and
// renamed at once, so the quiet window (watchers.DefaultContentQuiet) is
// part of the figure.
func BenchmarkContentRollout(b *testing.B) {
	if testing.Short() {
		b.Skip("end-to-end: skipped with -short")
	}
	for _, fresh := range []bool{false, true} {
		name := "prepared"
		if fresh {
			name = "fresh"
		}
		b.Run(name, func(b *testing.B) {
			dir := b.TempDir()
			bin := filepath.Join(dir, "bin/app")
			installBinary(b, bin, "v0")
			if err := os.WriteFile(filepath.Join(dir, "app.yaml"), []byte(contentManifest(1, "  rolloutOnChange: {executable: true}\n")), 0o644); err != nil {
				b.Fatal(err)
			}
			d := startBenchDaemon(b, dir)
			rev := d.waitNewReady(b, "")
			var total time.Duration
			b.ResetTimer()
			for i := range b.N {
				b.StopTimer()
				tmp := filepath.Join(dir, "bin", "app.next")
				installBinary(b, tmp, "v"+strconv.Itoa(i+1))
				if !fresh {
					old := time.Now().Add(-2 * watchers.DefaultContentQuiet)
					if err := os.Chtimes(tmp, old, old); err != nil {
						b.Fatal(err)
					}
				}
				b.StartTimer()
				start := time.Now()
				if err := os.Rename(tmp, bin); err != nil {
					b.Fatal(err)
				}
				rev = d.waitNewReady(b, rev)
				total += time.Since(start)
			}
			b.ReportMetric(float64(total.Milliseconds())/float64(b.N), "ms/rollout")
		})
	}
}

// benchDaemon is a daemon for a benchmark (the tests' harness is bound to
// *testing.T).
type benchDaemon struct {
	base string
}

func startBenchDaemon(b *testing.B, manifests string) *benchDaemon {
	b.Helper()
	state := b.TempDir()
	b.Cleanup(func() { removeRunDir(state) })
	cmd := exec.Command(bins.proclet, "run", "--manifests", manifests, "--state-dir", state, "--listen", "127.0.0.1:0")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	exited := make(chan struct{})
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			if m := addrRE.FindStringSubmatch(sc.Text()); m != nil {
				select {
				case addr <- m[1]:
				default:
				}
			}
		}
		_ = cmd.Wait()
		close(exited)
	}()
	b.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM) // stops every instance gracefully
		select {
		case <-exited:
		case <-time.After(60 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
	})
	select {
	case a := <-addr:
		return &benchDaemon{base: "http://" + a}
	case <-exited:
		b.Fatal("daemon exited early")
	case <-time.After(30 * time.Second):
		b.Fatal("daemon did not serve within 30s")
	}
	return nil
}

// waitNewReady polls until an instance of app at a revision other than
// old is Ready, and returns that revision.
func (d *benchDaemon) waitNewReady(b *testing.B, old string) string {
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		var l struct {
			Items []v1alpha1.Instance `json:"items"`
		}
		if resp, err := http.Get(d.base + "/api/v1/apps/app/instances"); err == nil {
			_ = json.NewDecoder(resp.Body).Decode(&l)
			resp.Body.Close()
		}
		for _, i := range l.Items {
			if i.Ready && i.Revision != old {
				return i.Revision
			}
		}
		time.Sleep(2 * time.Millisecond) // the polling interval, part of the figure's resolution
	}
	b.Fatal("no new instance Ready within 30s")
	return ""
}
