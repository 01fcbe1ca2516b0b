package server

// This file finds the runs of an instance in its log: each start of the
// instance writes a marker line (stream proclet, runtime/logfile's
// StartMark), so the previous run is what lies between the last two
// markers (or before the only one).

import (
	"bufio"
	"errors"
	"fmt"
	"io"
)

// markerHead is how a start marker's line begins after its timestamp,
// which has a fixed width (30 bytes).
const (
	markerAt   = len("2006-01-02T15:04:05.000000000Z")
	markerHead = " proclet F --- started pid "
)

// isMarker tells whether a line of a log file starting with b is a run's
// start marker (b may be only the line's first bytes).
func isMarker(b []byte) bool {
	return len(b) >= markerAt+len(markerHead) && string(b[markerAt:markerAt+len(markerHead)]) == markerHead
}

// starts returns where each start marker of the log begins, oldest first.
// It reads every file of the log once, a chunk at a time.
func (s *segments) starts() ([]position, error) {
	var out []position
	for i, g := range s.list {
		br := bufio.NewReaderSize(io.NewSectionReader(g.f, 0, g.size), chunkSize)
		off, atStart := int64(0), true
		for {
			line, err := br.ReadSlice('\n')
			if atStart && isMarker(line) {
				out = append(out, position{seg: i, off: off})
			}
			off += int64(len(line))
			atStart = err == nil // ErrBufferFull: the rest of the line comes next
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil && !errors.Is(err, bufio.ErrBufferFull) {
				return nil, fmt.Errorf("read log: %w", err)
			}
		}
	}
	return out, nil
}

// previousRun is where the previous run's lines are: from the marker
// before the last one (or the very beginning) up to the last marker. ok is
// false when the log holds no previous run.
func (s *segments) previousRun() (from, to position, ok bool, err error) {
	marks, err := s.starts()
	if err != nil || len(marks) == 0 {
		return from, to, false, err
	}
	to = marks[len(marks)-1]
	if len(marks) > 1 {
		from = marks[len(marks)-2]
	}
	return from, to, from != to, nil
}

// copyRange writes the bytes from p up to end to w.
func (s *segments) copyRange(w io.Writer, p, end position) error {
	buf := make([]byte, chunkSize)
	for i := p.seg; i <= end.seg && i < len(s.list); i++ {
		from, to := int64(0), s.list[i].size
		if i == p.seg {
			from = p.off
		}
		if i == end.seg {
			to = end.off
		}
		if to <= from {
			continue
		}
		if _, err := io.CopyBuffer(w, io.NewSectionReader(s.list[i].f, from, to-from), buf); err != nil {
			return err
		}
	}
	return nil
}

// tailKind says what the line of a log file starting with b is to a tail:
// a run's start marker (not counted), or a P piece (counted with the
// piece that ends its line). b may be only the line's first bytes.
func tailKind(b []byte) (marker, partial bool) {
	if isMarker(b) {
		return true, false
	}
	const tag = markerAt + len(" stdout ") // stdout and stderr have the same length
	partial = len(b) > tag+1 && b[0] >= '0' && b[0] <= '9' && b[markerAt] == ' ' &&
		b[tag] == 'P' && b[tag+1] == ' ' && b[tag-1] == ' '
	return false, partial
}
