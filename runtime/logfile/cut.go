package logfile

// This file decides how an instance's output becomes lines of a log file,
// in the CRI log format (cri.go): each line of output is one line of the
// file, prefixed; a line too long, and the unfinished end of what one read
// brought, become pieces tagged P (partial) that the next line of the same
// stream continues, the last one tagged F. An instance that prints without
// newlines (a progress bar, a binary blob, a bug) would otherwise write one
// endless line into one file that is never rotated: one wrote 2.3 GB in
// 40 s into a file with maxSize 1Mi.

import (
	"bytes"
	"os"
)

const (
	// MaxLinePieceCap caps the text of one line of a log file (its prefix
	// and newline left out); a line is also never longer than maxSize
	// (see piece). A longer line of output is cut into P pieces.
	MaxLinePieceCap = 64 << 10
	// CutMark ended a piece of a cut line in the files written before the
	// CRI format (proclet 0.x): the line went on after the newline.
	// Readers still join such a piece with the next line.
	CutMark = " [proclet: line cut, continued on the next line]\n"
)

// piece is the longest text a line may have in the file: MaxLinePieceCap,
// or maxSize when smaller.
func (l *File) piece() int {
	return int(max(min(l.maxSize, MaxLinePieceCap), 1))
}

// lastLineLen is how many bytes the file at path, of the given size, holds
// after its last newline, looked for in its last limit bytes (limit when
// there is none there). A file written by an older daemon may end mid-line;
// the writer ends that line before its first. Errors count as 0.
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
