package logfile

// This file decides where a log file's writes are split: between lines for
// a rotation, and inside a line that grew too long. An instance that
// prints without newlines (a progress bar, a binary blob, a bug) would
// otherwise write one endless line into one file that is never rotated:
// one wrote 2.3 GB in 40 s into a file with maxSize 1Mi.

import (
	"bytes"
	"os"
)

const (
	// MaxLinePieceCap caps the length of a line in a log file; a line is
	// also never longer than maxSize (see piece).
	MaxLinePieceCap = 64 << 10
	// CutMark ends a piece of a line that was cut: the line goes on,
	// after the newline, on the next line of the log (which may be the
	// first line of the next file). Readers join a line ending with it
	// with the next one, without the mark and the newline.
	CutMark = " [proclet: line cut, continued on the next line]\n"
)

// piece is the longest a line may be in the file, its newline left out:
// MaxLinePieceCap, or maxSize when smaller.
func (l *File) piece() int {
	return int(max(min(l.maxSize, MaxLinePieceCap), 1))
}

// segmentLocked says how much of p to write next (n), whether to rotate
// before (a segment only ever begins a line there) and whether a cut mark
// follows (the current line reached piece bytes). A segment holds as many
// whole lines as fit the file, in one write(2) or splice(2): a line the
// file has begun first, which stays in this file; else the first piece,
// after a rotation when it does not fit; then more lines while they fit;
// then the start of a line that p ends with, if it fits.
func (l *File) segmentLocked(p []byte) (n int, cut, rotate bool) {
	piece := l.piece()
	room := l.maxSize - l.size
	if l.lineLen > 0 {
		n, cut = linePiece(p, max(piece-int(min(l.lineLen, int64(piece))), 0))
	} else {
		n, cut = linePiece(p, piece)
		if l.size > 0 && int64(n) > room {
			rotate, room = true, l.maxSize
		}
	}
	for !cut && n < len(p) && int64(n) < room { // p[n-1] is a newline
		w := p[n : n+int(min(int64(len(p)-n), room-int64(n), int64(piece)+1))]
		if j := bytes.LastIndexByte(w, '\n'); j >= 0 {
			n += j + 1 // whole lines, none longer than piece
			continue
		}
		if n+len(w) == len(p) && len(w) <= piece {
			n = len(p) // the start of a line, which fits
		}
		break
	}
	return n, cut, rotate
}

// linePiece is the first line of p if it is at most limit bytes long (its
// newline left out); else, when p holds no more than limit bytes of it,
// all of p (a line to be continued); else limit bytes, to be cut.
func linePiece(p []byte, limit int) (n int, cut bool) {
	if i := bytes.IndexByte(p[:min(len(p), limit+1)], '\n'); i >= 0 {
		return i + 1, false
	}
	if len(p) <= limit {
		return len(p), false
	}
	return limit, true
}

// lastLineLen is how many bytes the file at path, of the given size, holds
// after its last newline, looked for in its last limit bytes (limit when
// there is none there: the line is due for a cut). Errors count as 0.
func lastLineLen(path string, size int64, limit int) int64 {
	if size == 0 {
		return 0
	}
	f, err := os.Open(path)
	if err != nil {
		return 0
	}
	defer f.Close()
	var buf [4096]byte
	for end := size; end > 0 && size-end < int64(limit); {
		start := max(end-int64(len(buf)), 0)
		n, err := f.ReadAt(buf[:end-start], start)
		if err != nil || int64(n) != end-start {
			return 0
		}
		if i := bytes.LastIndexByte(buf[:n], '\n'); i >= 0 {
			return size - (start + int64(i) + 1)
		}
		end = start
	}
	return min(size, int64(limit))
}
