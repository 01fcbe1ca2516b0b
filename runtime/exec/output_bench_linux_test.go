package exec

import (
	"bufio"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// BenchmarkOutput_FIFOToLog is the daemon's cost per byte of an instance's
// output: the workload writes b.N × 64 KiB into a FIFO as fast as it
// takes them, in writes of "write" bytes, and the output loop (tee, scan,
// splice) moves them into a log rotated at 16 MiB. "lines=N" has a newline
// every N bytes; "lines=none" none at all (every piece is cut); "rate=" paces
// the writer (the others write as fast as the FIFO takes it). It reports
// this process's CPU per MiB (the daemon's side: the writer is another
// process), the writer's, and the first as a percentage of the second.
func BenchmarkOutput_FIFOToLog(b *testing.B) {
	for _, c := range []struct{ line, write, rate int }{{100, 64 << 10, 0}, {0, 64 << 10, 0}, {100, 4096, 0}, {100, 100, 0},
		{100, 64 << 10, 100e6}, {0, 64 << 10, 100e6}} {
		name := "lines=" + strconv.Itoa(c.line)
		if c.line == 0 {
			name = "lines=none"
		}
		name += "/write=" + strconv.Itoa(c.write)
		if c.rate > 0 {
			name += "/rate=" + strconv.Itoa(c.rate/1e6) + "MB/s"
		}
		b.Run(name, func(b *testing.B) { benchOutput(b, c.line, c.write, c.rate) })
	}
}

func benchOutput(b *testing.B, line, write, rate int) {
	e, err := New(Options{StateDir: b.TempDir(), SampleInterval: -1})
	if err != nil {
		b.Fatal(err)
	}
	o, err := openFIFOs(e.runDir, "bench")
	if err != nil {
		b.Fatal(err)
	}
	defer o.remove()
	if err := o.openChildEnds(); err != nil {
		b.Fatal(err)
	}
	o.read[1].Close()
	path := filepath.Join(e.stateDir, "logs", "bench", "bench-0.stdout.log")
	r := &reader{f: o.read[0], fifo: o.paths[0], out: e.acquireLog(path, 16<<20, 1),
		done: make(chan struct{}), p: e.outputs}
	e.wg.Add(1)
	e.startReader(r)

	const chunk = 64 << 10
	total := int64(b.N) * chunk
	cmd := exec.Command(workload, "--flood", strconv.FormatInt(total, 10), "--flood-line", strconv.Itoa(line),
		"--flood-write", strconv.Itoa(write), "--flood-rate", strconv.Itoa(rate))
	cmd.Stdout = o.child[0]
	stderr, err := cmd.StderrPipe()
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(chunk)
	var before, after unix.Rusage
	unix.Getrusage(unix.RUSAGE_SELF, &before)
	b.ResetTimer()
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	sc := bufio.NewScanner(stderr)
	for sc.Scan() && !strings.Contains(sc.Text(), "flood done") {
	}
	drained(b, int(o.read[0].Fd()))
	r.out.Settle() // the last round's write is over
	b.StopTimer()
	unix.Getrusage(unix.RUSAGE_SELF, &after)
	cmd.Process.Kill()
	cmd.Wait()
	ru := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	daemon := time.Duration(after.Utime.Nano() + after.Stime.Nano() - before.Utime.Nano() - before.Stime.Nano())
	writer := time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	mib := float64(total) / (1 << 20)
	b.ReportMetric(float64(daemon.Microseconds())/mib, "daemon-µs/MiB")
	b.ReportMetric(float64(writer.Microseconds())/mib, "writer-µs/MiB")
	b.ReportMetric(100*daemon.Seconds()/writer.Seconds(), "daemon/writer-%")
	o.closeChildEnds() // EOF for the reader
	<-r.done
	e.wg.Wait()
}

// drained waits until the pipe fd holds nothing.
func drained(b *testing.B, fd int) {
	deadline := time.Now().Add(time.Minute)
	for {
		n, err := unix.IoctlGetInt(fd, unix.TIOCINQ) // FIONREAD
		if err != nil {
			b.Fatal(err)
		}
		if n == 0 {
			return
		}
		if time.Now().After(deadline) {
			b.Fatalf("%d bytes still in the FIFO after a minute", n)
		}
		time.Sleep(100 * time.Microsecond)
	}
}
