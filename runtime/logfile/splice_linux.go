package logfile

import (
	"errors"
	"os"
	"sync"

	"golang.org/x/sys/unix"
)

// WriteFrom writes p, which are the next len(p) bytes of the pipe src
// (peeked with tee(2)), as Write does, then takes them out of src: the
// bytes leave the pipe only once they are in the log (or dropped on a
// write error, so the instance never blocks on the daemon's disk). A
// daemon killed between the two finds them in the pipe again: the lines
// of that one round (at most 1 MiB) are then written twice, never lost.
// They are not spliced: every line gets its prefix (cri.go).
func (l *File) WriteFrom(src int, p []byte) {
	if len(p) == 0 {
		return
	}
	l.Write(p)
	discard(src, len(p))
}

// devNull is where discard splices what it takes out of a pipe.
var devNull = sync.OnceValue(func() int {
	fd, err := unix.Open(os.DevNull, unix.O_WRONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1
	}
	return fd
})

// discard takes n bytes, which the pipe src holds, out of it: spliced to
// /dev/null (no copy), else read.
func discard(src, n int) {
	if null := devNull(); null >= 0 {
		for n > 0 {
			k, err := unix.Splice(src, nil, null, nil, n, unix.SPLICE_F_MOVE)
			if errors.Is(err, unix.EINTR) {
				continue
			}
			if err != nil || k <= 0 {
				break
			}
			n -= int(k)
		}
	}
	var buf [4096]byte
	for n > 0 {
		k, err := unix.Read(src, buf[:min(n, len(buf))])
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil || k <= 0 {
			return
		}
		n -= k
	}
}
