package exec

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"time"

	"proclet.dev/proclet/runtime/logfile"
)

// loopReader is a reader of a new FIFO pair in e's output loop, writing
// to a log rotated at maxSize into one file; the test writes into
// o.child[0], a real FIFO, and closes the child ends for EOF.
func loopReader(t *testing.T, maxSize int64) (*fifos, *reader) {
	t.Helper()
	e, err := New(Options{StateDir: t.TempDir(), SampleInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	o, err := openFIFOs(e.runDir, "round")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(o.remove)
	if err := o.openChildEnds(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(o.closeChildEnds)
	o.read[1].Close()
	path := filepath.Join(e.stateDir, "logs", "round", "round-0.stdout.log")
	r := &reader{f: o.read[0], fifo: o.paths[0], out: e.acquireLog(path, maxSize, 1),
		done: make(chan struct{}), p: e.outputs}
	t.Cleanup(func() {
		o.closeChildEnds()
		<-r.done
		e.wg.Wait()
	})
	return o, r
}

// endOf closes the writer side and waits for the reader to end, then
// returns the log's content.
func endOf(t *testing.T, o *fifos, r *reader) []byte {
	t.Helper()
	o.closeChildEnds()
	select {
	case <-r.done:
	case <-time.After(time.Minute):
		t.Fatal("the reader did not end within a minute of EOF")
	}
	data, err := os.ReadFile(r.out.Name())
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// A FIFO holding up to a round (1 MiB) is read, written and taken out in
// one round: its lines share one timestamp. With rounds of 64 KiB the
// 900 KiB below took 15, each with its syscalls and its timestamp.
func TestOutput_OneRoundTakesUpToAMebibyte(t *testing.T) {
	o, r := loopReader(t, 1<<30)
	line := append(bytes.Repeat([]byte("x"), 99), '\n')
	in := bytes.Repeat(line, 900<<10/len(line))
	if _, err := o.child[0].Write(in); err != nil { // before the reader starts: all in the FIFO
		t.Fatal(err)
	}
	r.p.e.wg.Add(1)
	r.p.e.startReader(r)
	if !r.poll.polled {
		t.Skip("the output loop cannot read this FIFO (no tee)")
	}
	data := endOf(t, o, r)
	if got := logfile.Plain(data); !bytes.Equal(got, in) {
		t.Fatalf("the log holds %d bytes of output, want the %d written", len(got), len(in))
	}
	stamps := map[string]bool{}
	for l := range bytes.Lines(data) {
		stamps[string(l[:len(logfile.TimeLayout)])] = true
	}
	if len(stamps) != 1 {
		t.Errorf("%d timestamps for %d KiB of lines written before the reader started, want 1 (one round)", len(stamps), len(in)>>10)
	}
}

// Whatever the output, the log gives back exactly the bytes written: a
// line longer than a round and than a piece, lines ended by \r\n, every
// byte value (NUL included), and a last line without newline, which the
// end of the stream finishes. Every line of the file is a CRI line with
// at most a piece of text.
func TestOutput_HostileBytesComeBackExactly(t *testing.T) {
	o, r := loopReader(t, 1<<30)
	var in []byte
	in = append(in, bytes.Repeat([]byte("long"), 3*roundSize/4+12345)...) // 3 MiB and more, no newline
	in = append(in, '\n')
	for i := range 2000 {
		in = append(in, "crlf line "...)
		in = append(in, byte('0'+i%10), '\r', '\n')
	}
	for range 300 {
		for b := range 256 {
			in = append(in, byte(b))
		}
	}
	in = append(in, "the end, unfinished"...)
	r.p.e.wg.Add(1)
	r.p.e.startReader(r)
	wrote := make(chan struct{})
	go func() { // more than the FIFO holds: written while the reader reads
		defer close(wrote)
		for p := in; len(p) > 0; {
			n, err := o.child[0].Write(p[:min(len(p), 7777)]) // writes that end anywhere
			if err != nil {
				return
			}
			p = p[n:]
		}
		o.closeChildEnds()
	}()
	select {
	case <-r.done:
	case <-time.After(2 * time.Minute):
		t.Fatal("the reader did not end within two minutes")
	}
	<-wrote // its closeChildEnds before the cleanup's (a data race otherwise)
	data, err := os.ReadFile(r.out.Name())
	if err != nil {
		t.Fatal(err)
	}
	if got, want := logfile.Plain(data), append(in, '\n'); !bytes.Equal(got, want) {
		i := 0
		for i < min(len(got), len(want)) && got[i] == want[i] {
			i++
		}
		t.Fatalf("the log gives back %d bytes, want %d; they differ from byte %d", len(got), len(want), i)
	}
	for l := range bytes.Lines(data) {
		p := logfile.ParseLine(bytes.TrimSuffix(l, []byte("\n")))
		if p.Stream != "stdout" || len(p.Text) > logfile.MaxLinePieceCap {
			t.Fatalf("file line %.80q: stream %q, %d bytes of text, want stdout and at most %d", l, p.Stream, len(p.Text), logfile.MaxLinePieceCap)
		}
	}
}
