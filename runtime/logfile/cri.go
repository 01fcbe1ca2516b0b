package logfile

// The lines of a log file are in the CRI log format, the one the kubelet
// writes and Vector, Fluent Bit and Promtail parse:
//
//	2026-12-07T17:20:31.123456789Z stdout F the line as printed
//
// TIMESTAMP (RFC 3339 with nanoseconds, UTC, fixed width) is when the
// daemon read the line from the instance's pipe; STREAM is stdout, stderr,
// or proclet for the lines the daemon writes itself (a run's start
// marker); the tag is F for a full line, P for a piece that the next line
// of the same stream continues (a line cut at MaxLinePieceCap, or the end
// of a read that had no newline yet). Lines written before this format (no
// prefix) are read as they are, with no time.

import (
	"bytes"
	"fmt"
	"time"
)

// TimeLayout is the timestamp of a line: RFC 3339, nanoseconds, UTC,
// always the same width (so lines sort as text).
const TimeLayout = "2006-01-02T15:04:05.000000000Z07:00"

// StreamProclet is the stream of the lines the daemon writes itself.
const StreamProclet = "proclet"

// startMarkPrefix begins the text of a run's start marker.
const startMarkPrefix = "--- started pid "

// StartMark is the text of the marker line written at each start of an
// instance, in both of its logs, with stream proclet.
func StartMark(pid int, revision string) string {
	return fmt.Sprintf("%s%d revision %s ---", startMarkPrefix, pid, revision)
}

// appendPrefix appends "TIMESTAMP STREAM " to b.
func appendPrefix(b []byte, t time.Time, stream string) []byte {
	b = t.UTC().AppendFormat(b, TimeLayout)
	b = append(b, ' ')
	b = append(b, stream...)
	return append(b, ' ')
}

// Line is one line of a log file, parsed.
type Line struct {
	Time    time.Time // zero for a line without prefix (an older file)
	Stream  string    // stdout, stderr or proclet; "" without prefix
	Partial bool      // the next line of the stream continues it (P, or an old cut mark)
	Text    []byte    // without prefix nor newline; aliases the input
}

// IsStart tells whether l is a run's start marker.
func (l Line) IsStart() bool {
	return l.Stream == StreamProclet && bytes.HasPrefix(l.Text, []byte(startMarkPrefix))
}

// ParseLine parses one line of a log file, its newline removed. A line
// that does not begin with a CRI prefix is taken as text written before
// the format (each line is detected on its own: a file may hold both).
func ParseLine(b []byte) Line {
	if l, ok := parseCRI(b); ok {
		return l
	}
	if t, ok := bytes.CutSuffix(b, []byte(CutMark[:len(CutMark)-1])); ok {
		return Line{Text: t, Partial: true}
	}
	return Line{Text: b}
}

func parseCRI(b []byte) (Line, bool) {
	// The timestamp is one word: a digit first, and a quick length check
	// before time.Parse keeps most old-format lines cheap.
	sp := bytes.IndexByte(b, ' ')
	if sp < len("2006-01-02T15:04:05Z") || sp > len(TimeLayout)+8 || b[0] < '0' || b[0] > '9' {
		return Line{}, false
	}
	t, err := time.Parse(time.RFC3339Nano, string(b[:sp]))
	if err != nil {
		return Line{}, false
	}
	rest := b[sp+1:]
	sp = bytes.IndexByte(rest, ' ')
	if sp < 0 {
		return Line{}, false
	}
	stream := string(rest[:sp])
	switch stream {
	case "stdout", "stderr", StreamProclet:
	default:
		return Line{}, false
	}
	rest = rest[sp+1:]
	if len(rest) < 1 || (rest[0] != 'F' && rest[0] != 'P') || (len(rest) > 1 && rest[1] != ' ') {
		return Line{}, false
	}
	text := rest[min(2, len(rest)):]
	return Line{Time: t, Stream: stream, Partial: rest[0] == 'P', Text: text}, true
}

// Plain is the output the lines of data (a log file's content, or several
// concatenated oldest first) hold, as the instance printed it: prefixes
// removed, pieces joined, the daemon's own lines left out.
func Plain(data []byte) []byte {
	var out []byte
	for len(data) > 0 {
		line := data
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			line, data = data[:i], data[i+1:]
		} else {
			data = nil
		}
		l := ParseLine(line)
		if l.Stream == StreamProclet {
			continue
		}
		out = append(out, l.Text...)
		if !l.Partial {
			out = append(out, '\n')
		}
	}
	return out
}
