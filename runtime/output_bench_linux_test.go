package runtime

import (
	"bytes"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// BenchmarkOutput_FIFOToLog is the daemon's cost per byte of an instance's
// output: a FIFO written as fast as a pipe takes it, read by the output
// loop (tee, scan, splice) into a rotated log. "lines=N" writes a newline
// every N bytes; "lines=none" never does (every piece is cut). Besides
// MB/s it reports the process's CPU per MiB (the writer's write(2) calls
// included: about what a writer pays on its side) and the log loop's
// syscall-free part is in the profile.
func BenchmarkOutput_FIFOToLog(b *testing.B) {
	for _, line := range []int{100, 4096, 0} {
		name := "lines=" + strconv.Itoa(line)
		if line == 0 {
			name = "lines=none"
		}
		b.Run(name, func(b *testing.B) { benchOutput(b, line) })
	}
}

func benchOutput(b *testing.B, line int) {
	e, err := NewExec(ExecOptions{StateDir: b.TempDir()})
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

	chunk := bytes.Repeat([]byte{'x'}, 64<<10)
	if line > 0 {
		for i := line - 1; i < len(chunk); i += line {
			chunk[i] = '\n'
		}
	}
	w := int(o.child[0].Fd())
	b.SetBytes(int64(len(chunk)))
	var before, after unix.Rusage
	unix.Getrusage(unix.RUSAGE_SELF, &before)
	b.ResetTimer()
	for range b.N {
		for p := chunk; len(p) > 0; {
			n, err := unix.Write(w, p)
			if err != nil {
				b.Fatal(err)
			}
			p = p[n:]
		}
	}
	drained(b, int(o.read[0].Fd()))
	r.out.mu.Lock() // the last round's write is over
	r.out.mu.Unlock()
	b.StopTimer()
	unix.Getrusage(unix.RUSAGE_SELF, &after)
	cpu := time.Duration(after.Utime.Nano() + after.Stime.Nano() - before.Utime.Nano() - before.Stime.Nano())
	mib := float64(b.N) * float64(len(chunk)) / (1 << 20)
	b.ReportMetric(float64(cpu.Microseconds())/mib, "cpu-µs/MiB")
	o.closeChildEnds() // EOF for the reader
	<-r.done
	e.wg.Wait()
}

// drained waits until the pipe fd holds nothing (FIONREAD).
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
