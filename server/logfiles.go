package server

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strconv"
	"syscall"

	"proclet.dev/proclet/internal/boundedfile"
)

// maxSegments bounds how many files of one log (the current one and its
// rotated predecessors) an answer reads, and so holds open at once.
const maxSegments = 100

// chunkSize is the read buffer of the log answers: what bounds their
// memory, whatever the size of the files.
const chunkSize = 32 << 10

// maxTailScan bounds how far back from the end a tail looks for its lines
// (256 MiB: the default logs.maxSize and maxFiles keep 60 MiB). Lines it
// does not find there are not looked for: the answer starts 256 MiB
// before the end, so a 4 GiB file without a newline costs no more.
const maxTailScan int64 = 256 << 20

// openLog opens one file of a log without ever blocking (a FIFO put in its
// place is opened O_NONBLOCK) and refuses what is not a regular file: a
// link to /dev/zero would make an answer that never ends.
func openLog(name string) (*os.File, os.FileInfo, error) {
	f, err := os.OpenFile(name, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, nil, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, nil, fmt.Errorf("stat log: %w", err)
	}
	if !st.Mode().IsRegular() {
		f.Close()
		return nil, nil, fmt.Errorf("log %s: %w: it is %s; not read", name, boundedfile.ErrNotRegular, boundedfile.Kind(st.Mode()))
	}
	return f, st, nil
}

// segment is one open file of a log, with its size when opened.
type segment struct {
	f    *os.File
	size int64
}

// segments are the files of one log, oldest first: path.N ... path.1, path.
// They are all opened before any is read, so that a rotation meanwhile
// (which renames but never rewrites) cannot make us read a file twice or
// skip one.
type segments struct {
	list []segment
}

// openSegments opens the log at path and its rotated files. A missing log
// is no error: an instance that has not written yet has none.
func openSegments(path string) (*segments, error) {
	s := &segments{}
	if path == "" {
		return s, nil
	}
	var seen []os.FileInfo
	var newestFirst []segment
	for i := range maxSegments {
		name := path
		if i > 0 {
			name += "." + strconv.Itoa(i)
		}
		f, st, err := openLog(name)
		if errors.Is(err, fs.ErrNotExist) {
			if i == 0 {
				continue // between the two steps of a rotation, or never written
			}
			break
		}
		if err != nil {
			closeAll(newestFirst)
			return nil, fmt.Errorf("open log: %w", err)
		}
		if dup(seen, st) { // rotated while we were opening: already have it
			f.Close()
			continue
		}
		seen = append(seen, st)
		newestFirst = append(newestFirst, segment{f: f, size: st.Size()})
	}
	for i := len(newestFirst) - 1; i >= 0; i-- {
		s.list = append(s.list, newestFirst[i])
	}
	return s, nil
}

func dup(seen []os.FileInfo, st os.FileInfo) bool {
	for _, o := range seen {
		if os.SameFile(o, st) {
			return true
		}
	}
	return false
}

func closeAll(segs []segment) {
	for _, g := range segs {
		g.f.Close()
	}
}

// close closes the files still held.
func (s *segments) close() {
	closeAll(s.list)
	s.list = nil
}

// position is a place in the concatenated segments.
type position struct {
	seg int
	off int64
}

// end is the position after the last byte of the log.
func (s *segments) end() position {
	if len(s.list) == 0 {
		return position{}
	}
	last := len(s.list) - 1
	return position{seg: last, off: s.list[last].size}
}

// tailStart is where the last n lines before stop begin (n < 0: the very
// beginning). It reads backwards in chunks, so it costs one chunk of
// memory and reads only what it returns. A final newline ends the last
// line; it does not start an empty one. The daemon's start markers are not
// counted, and a cut line counts once, with all its P pieces (tailKind),
// when the chunk holds the beginning of their lines.
func (s *segments) tailStart(n int, stop position) (position, error) {
	if n < 0 || len(s.list) == 0 {
		return position{}, nil
	}
	if n == 0 {
		return stop, nil
	}
	buf := make([]byte, chunkSize)
	finalByte, count, budget := true, 0, maxTailScan
	var found *position // the nth line's start, moved back over its P pieces
	for i := stop.seg; i >= 0; i-- {
		end := s.list[i].size
		if i == stop.seg {
			end = stop.off
		}
		for end > 0 {
			if budget == 0 {
				if found != nil {
					return *found, nil
				}
				return position{seg: i, off: end}, nil // looked back maxTailScan
			}
			start := max(0, end-int64(len(buf)), end-budget)
			budget -= end - start
			chunk := buf[:end-start]
			if _, err := s.list[i].f.ReadAt(chunk, start); err != nil {
				return position{}, fmt.Errorf("read log: %w", err)
			}
			for j := len(chunk) - 1; j >= 0; j-- {
				if chunk[j] != '\n' {
					finalByte = false
					continue
				}
				if finalByte {
					finalByte = false
					continue
				}
				here := position{seg: i, off: start + int64(j) + 1}
				marker, partial := tailKind(chunk[j+1:])
				switch {
				case found != nil && partial: // the first pieces of the line found
					found = &here
				case found != nil:
					return *found, nil
				case marker || partial: // a P piece counts with its last piece
				default:
					if count++; count == n {
						found = &here
					}
				}
			}
			end = start
		}
	}
	if found != nil && !(found.seg == 0 && found.off == 0) {
		if _, partial := tailKind(s.firstBytes()); !partial {
			return *found, nil
		}
	}
	return position{}, nil
}

// firstBytes are the first bytes of the log (enough for tailKind).
func (s *segments) firstBytes() []byte {
	var b [64]byte
	if len(s.list) == 0 {
		return nil
	}
	n, _ := s.list[0].f.ReadAt(b[:], 0)
	return b[:n]
}

// copyFrom writes everything from p to the current end of the newest file
// to w, and hands that file over, positioned at its end, for following;
// the caller closes it. It returns nil when there is no file.
func (s *segments) copyFrom(w io.Writer, p position) (*os.File, error) {
	if len(s.list) == 0 {
		return nil, nil
	}
	buf := make([]byte, chunkSize)
	last := len(s.list) - 1
	for i := p.seg; i < last; i++ {
		off := int64(0)
		if i == p.seg {
			off = p.off
		}
		sec := io.NewSectionReader(s.list[i].f, off, s.list[i].size-off)
		if _, err := io.CopyBuffer(w, sec, buf); err != nil {
			return nil, err
		}
	}
	newest := s.list[last].f
	s.list = s.list[:last]
	off := int64(0)
	if p.seg == last {
		off = p.off
	}
	if _, err := newest.Seek(off, io.SeekStart); err != nil {
		newest.Close()
		return nil, fmt.Errorf("seek log: %w", err)
	}
	if _, err := copyAvailable(w, newest, buf); err != nil {
		newest.Close()
		return nil, err
	}
	return newest, nil
}

// copyAvailable copies from f to w until f's current end.
func copyAvailable(w io.Writer, f *os.File, buf []byte) (int64, error) {
	var total int64
	for {
		n, err := f.Read(buf)
		if n > 0 {
			if _, werr := w.Write(buf[:n]); werr != nil {
				return total, werr
			}
			total += int64(n)
		}
		if errors.Is(err, io.EOF) {
			return total, nil
		}
		if err != nil {
			return total, fmt.Errorf("read log: %w", err)
		}
	}
}
