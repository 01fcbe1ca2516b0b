package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"sync"

	"proclet.dev/proclet/server/client"
)

// maxFleetLogBytes is the most output of one host `logs --servers`
// without -f holds before it prints that host's lines (docs/faults.md).
const maxFleetLogBytes = 4 << 20

// errNoInstances is an app that runs no instance on a daemon.
var errNoInstances = errors.New("has no instances")

// fleetLogs is `proclet logs --servers`: each daemon's lines, each
// prefixed "[NODE] ". Without -f each host's output is read whole (at most
// maxFleetLogBytes) and printed as one block when it has been read, hosts
// --parallel at a time; with -f every host is followed at once until
// Ctrl-C, lines interleaved whole. A daemon without the app or instance
// prints nothing and is not a failure.
func fleetLogs(ctx context.Context, f *fleet, o logsOptions, stdout, stderr io.Writer) error {
	out := &lockedWriter{w: stdout}
	found := false
	var mu sync.Mutex
	show := func(ctx context.Context, c *client.Client, w io.Writer) error {
		err := logs(ctx, c, o, w, stderr)
		if client.IsNotFound(err) || errors.Is(err, errNoInstances) {
			return nil
		}
		mu.Lock()
		found = true
		mu.Unlock()
		return err
	}
	var answers []hostAnswer[struct{}]
	if o.follow {
		f.stream, f.parallel = true, len(f.hosts)
		answers = fanOut(ctx, f, func(ctx context.Context, c *client.Client) (struct{}, error) {
			node, _ := f.nodeName(ctx, c)
			pw := &prefixWriter{prefix: "[" + node + "] ", w: out}
			err := show(ctx, c, pw)
			pw.flush()
			if ctx.Err() != nil {
				err = nil // Ctrl-C
			}
			return struct{}{}, err
		})
	} else {
		answers = fanOut(ctx, f, func(ctx context.Context, c *client.Client) (struct{}, error) {
			node, _ := f.nodeName(ctx, c)
			buf := &cappedBuffer{max: maxFleetLogBytes}
			pw := &prefixWriter{prefix: "[" + node + "] ", w: buf}
			err := show(ctx, c, pw)
			pw.flush()
			_, _ = out.Write(buf.b.Bytes())
			if err == nil && buf.full {
				err = fmt.Errorf("more than %d bytes of output: cut (use --tail or --since)", maxFleetLogBytes)
			}
			return struct{}{}, err
		})
	}
	failures := reportFailures(stderr, "proclet logs", answers)
	if failures == nil && !found {
		return fmt.Errorf("no host has app or instance %q", o.app)
	}
	return failures
}

// lockedWriter serializes whole writes to w.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// prefixWriter writes each whole line to w with prefix before it; a line
// not yet ended waits for its end (or flush).
type prefixWriter struct {
	prefix string
	w      io.Writer
	part   []byte
}

func (p *prefixWriter) Write(b []byte) (int, error) {
	n := len(b)
	var out []byte
	for len(b) > 0 {
		i := bytes.IndexByte(b, '\n')
		if i < 0 {
			p.part = append(p.part, b...)
			break
		}
		out = append(out, p.prefix...)
		out = append(out, p.part...)
		out = append(out, b[:i+1]...)
		p.part, b = p.part[:0], b[i+1:]
	}
	if len(out) > 0 {
		if _, err := p.w.Write(out); err != nil {
			return 0, err
		}
	}
	return n, nil
}

// flush writes a last line that has no newline, with one.
func (p *prefixWriter) flush() {
	if len(p.part) > 0 {
		_, _ = p.Write([]byte{'\n'})
	}
}

// cappedBuffer keeps the first max bytes written to it and notes that
// more came.
type cappedBuffer struct {
	b    bytes.Buffer
	max  int
	full bool
}

func (c *cappedBuffer) Write(p []byte) (int, error) {
	if room := c.max - c.b.Len(); len(p) > room {
		c.b.Write(p[:max(room, 0)])
		c.full = true
		return 0, fmt.Errorf("more than %d bytes of output", c.max)
	}
	return c.b.Write(p)
}
