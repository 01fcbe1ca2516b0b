package server

// This file turns the lines of a log file (the CRI format of
// runtime/logfile, or the plain lines of files written before it) into
// the answer of a logs request: the lines as printed (the default), with
// their timestamps, or as JSON lines for log shippers; cut lines joined;
// lines before since left out.

import (
	"bytes"
	"encoding/json"
	"io"
	"strings"
	"time"

	"proclet.dev/proclet/runtime/logfile"
)

// maxViewLine bounds what the view holds of one line of a file: a line of
// the CRI format is at most a prefix and 64 KiB; a longer one (a hostile
// or foreign file) is passed on in pieces of this size, as partial lines.
const maxViewLine = 128 << 10

// maxJSONLine bounds the text of one JSON record: the pieces of a cut line
// are joined up to it; a longer line goes on in the next record, which has
// partial set on all but the last.
const maxJSONLine = 256 << 10

// logView is how the lines are shown.
type logView struct {
	since      time.Time // zero: every line; else only lines read at or after it (lines without a time are left out)
	timestamps bool      // prefix each line with its time (RFC 3339, nanoseconds); the start markers are shown
	json       bool      // one JSON object a line: time, stream, instance, line
	instance   string
}

// jsonLine is a record of the JSON output.
type jsonLine struct {
	Time     *time.Time `json:"time,omitempty"`
	Stream   string     `json:"stream"`
	Instance string     `json:"instance"`
	Line     string     `json:"line"`
	Partial  bool       `json:"partial,omitempty"`
}

// viewWriter is the io.Writer the log's bytes are copied into: it splits
// them into lines and writes each, as the view says, to w. Its memory is
// bounded by maxViewLine and maxJSONLine.
type viewWriter struct {
	w       io.Writer
	v       logView
	pending []byte // the start of a file line not ended yet

	open     bool      // a logical line is begun (pieces so far were P)
	openTime time.Time // its first piece's
	skip     bool      // the open line is before since: its pieces are dropped
	joined   []byte    // JSON: the open line's text so far
	stream   string
	out      []byte // what one Write sends
}

func newViewWriter(w io.Writer, v logView) *viewWriter {
	return &viewWriter{w: w, v: v}
}

func (vw *viewWriter) Write(p []byte) (int, error) {
	n := len(p)
	vw.out = vw.out[:0]
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			vw.pending = append(vw.pending, p...)
			if len(vw.pending) >= maxViewLine { // no newline in sight: pass it on
				vw.line(vw.pending, true)
				vw.pending = vw.pending[:0]
			}
			break
		}
		if len(vw.pending) > 0 {
			vw.pending = append(vw.pending, p[:i]...)
			vw.line(vw.pending, false)
			vw.pending = vw.pending[:0]
		} else {
			vw.line(p[:i], false)
		}
		p = p[i+1:]
	}
	if len(vw.out) == 0 {
		return n, nil
	}
	_, err := vw.w.Write(vw.out)
	return n, err
}

// finish shows a last line that has no newline as it is, without one (as
// the plain answer always did), and in JSON a line left open, marked
// partial: the instance may still be writing it.
func (vw *viewWriter) finish() error {
	vw.out = vw.out[:0]
	if len(vw.pending) > 0 {
		vw.line(vw.pending, true)
		vw.pending = vw.pending[:0]
	}
	if vw.open && vw.v.json && !vw.skip && len(vw.joined) > 0 {
		vw.emitJSON(true)
	}
	if len(vw.out) == 0 {
		return nil
	}
	_, err := vw.w.Write(vw.out)
	return err
}

// line handles one line of the file; cut: it was longer than maxViewLine.
func (vw *viewWriter) line(b []byte, cut bool) {
	l := logfile.ParseLine(b)
	if cut {
		l.Partial = true
	}
	if l.Stream == logfile.StreamProclet {
		if !vw.v.timestamps && !vw.v.json {
			return // the default output is the instance's lines only
		}
		if vw.open { // a marker ends a line left partial
			vw.piece(logfile.Line{Time: vw.openTime, Stream: vw.stream}, false)
		}
	}
	vw.piece(l, l.Partial)
}

// piece shows one piece of a logical line: the first one decides its
// time, whether it is shown at all (since), and its prefix.
func (vw *viewWriter) piece(l logfile.Line, partial bool) {
	if !vw.open {
		vw.open, vw.openTime, vw.stream = true, l.Time, l.Stream
		vw.skip = !vw.v.since.IsZero() && (l.Time.IsZero() || l.Time.Before(vw.v.since))
		if !vw.skip && !vw.v.json && vw.v.timestamps {
			vw.out = appendLineTime(vw.out, l.Time)
		}
	}
	if !vw.skip {
		if vw.v.json {
			vw.joined = append(vw.joined, l.Text...)
			if !partial || len(vw.joined) >= maxJSONLine {
				vw.emitJSON(partial)
			}
		} else {
			vw.out = append(vw.out, l.Text...)
			if !partial {
				vw.out = append(vw.out, '\n')
			}
		}
	}
	if !partial {
		vw.open, vw.joined = false, vw.joined[:0]
	}
}

func (vw *viewWriter) emitJSON(partial bool) {
	rec := jsonLine{Stream: vw.stream, Instance: vw.v.instance, Line: string(vw.joined), Partial: partial}
	if !vw.openTime.IsZero() {
		t := vw.openTime
		rec.Time = &t
	}
	b, _ := json.Marshal(rec) // strings and a time: cannot fail
	vw.out = append(vw.out, b...)
	vw.out = append(vw.out, '\n')
	vw.joined = vw.joined[:0]
}

// appendLineTime appends a line's time and a space; a line without one (an
// older file) gets a dash in its place, so columns stay aligned.
func appendLineTime(b []byte, t time.Time) []byte {
	if t.IsZero() {
		return append(b, noTime...)
	}
	b = t.UTC().AppendFormat(b, logfile.TimeLayout)
	return append(b, ' ')
}

// noTime stands for the time of a line that has none: a dash, as wide as
// a time in UTC (30 characters), and the space.
var noTime = "-" + strings.Repeat(" ", len("2006-01-02T15:04:05.000000000Z")-1) + " "
