package client

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"sync"
)

// MaxLine is the longest line CopyLines writes whole; a longer one is cut
// into pieces of MaxLine bytes, each written as a line of its own, so that
// memory stays bounded whatever an instance prints.
const MaxLine = 64 << 10

// LineSource is one stream of lines and the prefix of each of its lines
// ("[web-0] ").
type LineSource struct {
	Prefix string
	R      io.Reader
}

// CopyLines copies every source to w at once, line by line, each line
// prefixed with its source's Prefix and written in a single Write under a
// lock: lines of two sources never interleave, and a line still being
// written by an instance waits until its newline arrives (a last line
// without one is ended with "\n" at EOF). It returns when every source has
// ended; the caller stops a follow by cancelling the requests behind the
// readers (or closing them). The error joins what the sources failed with
// other than EOF.
func CopyLines(w io.Writer, sources []LineSource) error {
	var (
		mu   sync.Mutex // serialises writes to w and guards werr
		werr error
		wg   sync.WaitGroup
	)
	errs := make([]error, len(sources))
	for i, src := range sources {
		wg.Go(func() {
			errs[i] = copyPrefixed(src, func(line []byte) error {
				mu.Lock()
				defer mu.Unlock()
				if werr != nil {
					return werr
				}
				_, werr = w.Write(line)
				return werr
			})
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

// copyPrefixed reads src line by line and hands each, prefixed and ending
// in "\n", to emit.
func copyPrefixed(src LineSource, emit func([]byte) error) error {
	br := bufio.NewReaderSize(src.R, MaxLine)
	buf := make([]byte, 0, len(src.Prefix)+MaxLine+1)
	for {
		chunk, err := br.ReadSlice('\n')
		if len(chunk) > 0 {
			line := append(append(buf[:0], src.Prefix...), chunk...)
			if line[len(line)-1] != '\n' {
				line = append(line, '\n')
			}
			if werr := emit(line); werr != nil {
				return fmt.Errorf("writing output: %w", werr)
			}
		}
		switch {
		case err == nil, errors.Is(err, bufio.ErrBufferFull):
			continue
		case errors.Is(err, io.EOF):
			return nil
		default:
			return fmt.Errorf("%s: %w", trimPrefix(src.Prefix), err)
		}
	}
}

// trimPrefix makes "[web-0] " read as "web-0" in an error.
func trimPrefix(p string) string {
	if len(p) > 3 && p[0] == '[' && p[len(p)-2] == ']' {
		return p[1 : len(p)-2]
	}
	return p
}
