package procfs

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"proclet.dev/proclet/runtime/internal/testutil"
)

// TestSample_CountsReapedChildren burns CPU only in short-lived children
// that live and die between two passes: their time must reach the counter
// through the parent's cutime.
func TestSample_CountsReapedChildren(t *testing.T) {
	dir := t.TempDir()
	done := filepath.Join(dir, "done")
	script := `i=0; while [ $i -lt 4 ]; do (j=0; while [ $j -lt 60000 ]; do j=$((j+1)); done); i=$((i+1)); done; : > ` + done + `; exec sleep 1000`
	cmd := exec.Command("/bin/sh", "-c", script)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Kill(-cmd.Process.Pid, unix.SIGKILL); cmd.Wait() })
	s := NewSampler("/proc")
	t.Cleanup(s.Close)
	target := []Target{{UID: "sh", PID: cmd.Process.Pid, StartedAt: time.Now()}}
	if _, err := s.Pass(time.Now(), target); err != nil {
		t.Fatal(err)
	}
	testutil.WaitFor(t, 60*time.Second, "the busy children to finish", func() bool {
		_, err := os.Stat(done)
		return err == nil
	})
	u, err := s.Pass(time.Now(), target)
	if err != nil {
		t.Fatal(err)
	}
	// What the shell's reaped children used, as the kernel tells it.
	b, err := os.ReadFile("/proc/" + strconv.Itoa(cmd.Process.Pid) + "/stat")
	if err != nil {
		t.Fatal(err)
	}
	p, err := parseStat(b)
	if err != nil {
		t.Fatal(err)
	}
	children := float64(p.children) / ClockTicks
	if children < 0.05 {
		t.Fatalf("the children used only %.2fs: the test measures nothing", children)
	}
	if got := u["sh"].CPUSeconds; got < children {
		t.Fatalf("counter %.2fs, less than the %.2fs the reaped children used", got, children)
	}
}
