package exec

// This file holds the exit records of the waiting shim (see "Exit
// records" in doc.go): an instance whose exit code matters (StartSpec.
// RecordExit) runs as the daemon's binary in the shim's role, which runs
// the command as its child and writes the child's exit into
// <run dir>/exits/<uid>.json before it ends the same way. The next
// daemon, which adopts the shim but cannot reap it, reads the code there.

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"proclet.dev/proclet/apis/v1alpha1"
	"proclet.dev/proclet/runtime/sockets/shim"
)

// maxExitRecord bounds the read of an exit record: the shim writes some
// 80 bytes; a bigger file is not one it wrote.
const maxExitRecord = 512

// exitsDir is the folder of the exit records, private to the daemon's
// user (the shims run as it).
func exitsDir(runDir string) string { return filepath.Join(runDir, "exits") }

// exitRecordPath is uid's exit record.
func (e *Runtime) exitRecordPath(uid string) string {
	return filepath.Join(exitsDir(e.runDir), uid+".json")
}

// withWaitShim makes l start through the waiting shim, in front of
// whatever l runs (the sockets shim, the openFiles shell): proclet
// WaitArg RECORD CRED PATH ARGV.... The shim runs as the daemon's user
// (it writes into the run dir) and starts the command with l.cred.
func (e *Runtime) withWaitShim(l *launch, uid string) {
	rec := e.exitRecordPath(uid)
	os.Mkdir(exitsDir(e.runDir), 0o700) // made by the first such start: the run dir of others stays as it was
	os.Remove(rec)                      // a uid is started once: nothing of it can be there
	cred := "-"
	if c := l.cred; c != nil {
		groups := make([]string, len(c.Groups))
		for i, g := range c.Groups {
			groups[i] = strconv.FormatUint(uint64(g), 10)
		}
		cred = fmt.Sprintf("%d:%d:%s", c.Uid, c.Gid, strings.Join(groups, ","))
	}
	l.args = append([]string{"proclet", shim.WaitArg, rec, cred, l.path}, l.args...)
	l.path = shimPath
	l.waits = true
}

// processCred is the credential of the process the daemon forks: the
// command's, or none for the waiting shim (which switches for its child).
func (l *launch) processCred() *syscall.Credential {
	if l.waits {
		return nil
	}
	return l.cred
}

// exitRecord is what the shim writes.
type exitRecord struct {
	PID    int   `json:"pid"`
	Code   int   `json:"code"`
	Signal int   `json:"signal"`
	At     int64 `json:"at"` // Unix nanoseconds
}

// readExitRecord reads the exit the shim pid recorded for uid. Errors:
// no record (fs.ErrNotExist: the instance was not started through the
// shim, or the shim was killed by SIGKILL), or a record that is not the
// shim's (too big, not a regular file, not its PID, values out of range).
func (e *Runtime) readExitRecord(uid string, pid int) (v1alpha1.ExitStatus, error) {
	path := e.exitRecordPath(uid)
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK, 0)
	if err != nil {
		return v1alpha1.ExitStatus{}, err
	}
	defer f.Close()
	if st, err := f.Stat(); err != nil || !st.Mode().IsRegular() {
		return v1alpha1.ExitStatus{}, fmt.Errorf("exit record %s: not a regular file", path)
	}
	data, err := io.ReadAll(io.LimitReader(f, maxExitRecord+1))
	if err != nil {
		return v1alpha1.ExitStatus{}, fmt.Errorf("exit record %s: %w", path, err)
	}
	if len(data) > maxExitRecord {
		return v1alpha1.ExitStatus{}, fmt.Errorf("exit record %s: over %d bytes", path, maxExitRecord)
	}
	var r exitRecord
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&r); err != nil {
		return v1alpha1.ExitStatus{}, fmt.Errorf("exit record %s: %w", path, err)
	}
	switch {
	case r.PID != pid:
		return v1alpha1.ExitStatus{}, fmt.Errorf("exit record %s: written by pid %d, not the instance's %d", path, r.PID, pid)
	case r.Code < 0 || r.Code > 255 || r.Signal < 0 || r.Signal > 64 || (r.Signal > 0 && r.Code != 0):
		return v1alpha1.ExitStatus{}, fmt.Errorf("exit record %s: code %d, signal %d out of range", path, r.Code, r.Signal)
	}
	x := v1alpha1.ExitStatus{Code: r.Code, Reason: "Error", At: time.Unix(0, r.At)}
	if r.Signal > 0 {
		x.Code = 128 + r.Signal
		x.Signal = unix.SignalName(syscall.Signal(r.Signal))
	} else if r.Code == 0 {
		x.Reason = "Completed"
	}
	return x, nil
}

// adoptedExit is the exit of an adopted instance, pid, gone at at: the
// one its shim recorded, else Unknown (logged with why, when it was
// started through the shim but left no usable record).
func (e *Runtime) adoptedExit(uid string, pid int, at time.Time) (v1alpha1.ExitStatus, bool) {
	x, err := e.readExitRecord(uid, pid)
	if err == nil {
		if x.At.IsZero() || x.At.After(at) || x.At.Before(at.Add(-24*365*time.Hour)) {
			x.At = at
		}
		return x, true
	}
	if !errors.Is(err, os.ErrNotExist) {
		e.log.Warn("unusable exit record; the exit is reported as Unknown", "uid", uid, "pid", pid, "err", err)
	}
	return v1alpha1.ExitStatus{Code: unknownExitCode, Reason: ExitReasonUnknown, At: at}, false
}

// removeExitRecord deletes uid's exit record (and a temporary file the
// shim may have left): the exit is reported and released.
func (e *Runtime) removeExitRecord(uid string) {
	rec := e.exitRecordPath(uid)
	os.Remove(rec)
	os.Remove(rec + ".tmp")
}

// shimChild is the command of pid when pid is a waiting shim (its argv[1]
// is shim.WaitArg): its first child; 0 otherwise.
func shimChild(pid int) int {
	p := "/proc/" + strconv.Itoa(pid)
	argv, err := os.ReadFile(p + "/cmdline")
	rest := argv[bytes.IndexByte(argv, 0)+1:]
	if err != nil || !bytes.HasPrefix(rest, []byte(shim.WaitArg+"\x00")) && !bytes.HasPrefix(rest, []byte(shim.InitArg+"\x00")) {
		return 0
	}
	kids, err := os.ReadFile(p + "/task/" + strconv.Itoa(pid) + "/children")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(kids))
	if len(f) == 0 {
		return 0
	}
	c, _ := strconv.Atoi(f[0])
	return c
}
