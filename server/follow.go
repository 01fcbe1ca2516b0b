package server

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"net/http"
	"os"
	"time"
)

// streamWriter writes a long answer: the server's overall write deadline
// is replaced by one per write, so a stream may last while a stalled
// client cannot hold a handler forever. (The read deadline needs nothing:
// net/http clears it once the request is read.)
type streamWriter struct {
	w       http.ResponseWriter
	rc      *http.ResponseController
	timeout time.Duration
}

func newStreamWriter(w http.ResponseWriter, timeout time.Duration) *streamWriter {
	return &streamWriter{w: w, rc: http.NewResponseController(w), timeout: timeout}
}

func (s *streamWriter) Write(p []byte) (int, error) {
	// Not supported by httptest's recorder: fine.
	_ = s.rc.SetWriteDeadline(time.Now().Add(s.timeout))
	return s.w.Write(p)
}

// flush sends what is buffered; false when the client is gone.
func (s *streamWriter) flush() bool {
	_ = s.rc.SetWriteDeadline(time.Now().Add(s.timeout))
	return s.rc.Flush() == nil
}

// follow streams what is appended to the log at path until ctx ends or the
// client is gone, through the view vw (which writes to out), starting at
// cur's position (cur may be nil: no file yet).
// It polls: after a rotation (path is another file now) it drains the old
// file, then reads the new one from its start; after a truncation it reads
// again from the start. One flush per batch.
func (s *Server) follow(ctx context.Context, vw *viewWriter, out *streamWriter, path string, cur *os.File) {
	defer func() {
		if cur != nil {
			cur.Close()
		}
	}()
	buf := make([]byte, chunkSize)
	tick := time.NewTicker(s.t.poll)
	defer tick.Stop()
	for {
		if cur != nil {
			n, err := copyAvailable(vw, cur, buf)
			if err != nil || (n > 0 && !out.flush()) {
				return
			}
		}
		next, err := reopen(path, cur)
		if err != nil {
			s.log.Debug("following a log", "path", path, "err", err)
		}
		if next != nil {
			if cur != nil {
				// The writer closes a file before renaming it: what it
				// wrote last is there now.
				n, err := copyAvailable(vw, cur, buf)
				if err != nil || (n > 0 && !out.flush()) {
					next.Close()
					return
				}
				cur.Close()
			}
			cur = next
			continue
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// reopen returns the file now at path when it is not cur (created, or
// rotated), else nil; when cur was truncated it rewinds cur.
func reopen(path string, cur *os.File) (*os.File, error) {
	if path == "" {
		return nil, nil
	}
	st, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil // not yet, or mid-rotation
	}
	if err != nil {
		return nil, err
	}
	if cur != nil {
		cst, err := cur.Stat()
		if err != nil {
			return nil, err
		}
		if os.SameFile(st, cst) {
			off, err := cur.Seek(0, io.SeekCurrent)
			if err == nil && cst.Size() < off {
				_, err = cur.Seek(0, io.SeekStart) // truncated (copytruncate)
			}
			return nil, err
		}
	}
	f, _, err := openLog(path) // never blocks on a FIFO, refuses a device
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	return f, err
}
