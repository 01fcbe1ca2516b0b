package exec

import (
	"context"
	"time"

	"proclet.dev/proclet/runtime/logfile"
)

// DefaultLogIdleClose is how long an instance's log file stays open with
// nothing written to it when Options.LogIdleClose is zero.
const DefaultLogIdleClose = 10 * time.Second

func logIdleClose(d time.Duration) time.Duration {
	if d == 0 {
		return DefaultLogIdleClose
	}
	return d
}

// OpenLogs is the pool of the instances' log files: its bound, how many
// are open at once, is set at every start to half of what the descriptor
// limit leaves to the caches (fdroom_linux.go), at most 4096; Stats
// counts them.
func (e *Runtime) OpenLogs() *logfile.OpenFiles { return e.openLogs }

// logIdleLoop closes the log files not written for logIdle, every half
// of it, until ctx is done. Run owns it: one goroutine for every file.
func (e *Runtime) logIdleLoop(ctx context.Context) {
	t := time.NewTicker(max(e.logIdle/2, time.Millisecond))
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			e.openLogs.CloseIdle(now, e.logIdle)
		}
	}
}

// sharedLog is a log file with the handles using it: an instance
// restarted while its predecessor still drains shares its file, so that
// rotation happens in one place.
type sharedLog struct {
	file *logfile.File
	refs int // guarded by Runtime.mu
}

// acquireLog returns the shared writer of path, creating it on first use.
func (e *Runtime) acquireLog(path string, maxSize int64, maxFiles int) *logfile.File {
	e.mu.Lock()
	l, ok := e.logs[path]
	if !ok {
		l = &sharedLog{file: e.openLogs.NewFile(path, maxSize, maxFiles, e.log)}
		l.file.SetMode(e.logFileMode)
		e.logs[path] = l
	}
	l.refs++
	live := len(e.handles)
	e.mu.Unlock()
	e.openLogs.SetMax(e.fds.logShare(live)) // what the instances leave (fdroom_linux.go)
	l.file.SetLimits(maxSize, maxFiles)     // the newest start's policy wins
	return l.file
}

// releaseLog drops a reference and closes the file after the last one.
func (e *Runtime) releaseLog(f *logfile.File) {
	e.mu.Lock()
	l := e.logs[f.Name()]
	l.refs--
	last := l.refs == 0
	if last {
		delete(e.logs, f.Name())
	}
	e.mu.Unlock()
	if last {
		f.Close()
	}
}
