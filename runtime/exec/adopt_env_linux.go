package exec

// This file holds what an adopted instance is given back from its
// process: its working dir, its user, its output FIFOs.

import (
	"os"
	"strconv"
	"strings"
	"syscall"

	"proclet.dev/proclet/runtime"
)

// adoptedDir is where a preStop hook of the adopted instance runs: the
// working dir of its spec, or where the process is now.
func adoptedDir(pid int, s runtime.StartSpec) string {
	if s.Spec != nil {
		return workingDir(s)
	}
	if d, err := os.Readlink("/proc/" + strconv.Itoa(pid) + "/cwd"); err == nil {
		return d
	}
	return "/"
}

// adoptedCred is the user a preStop hook of the adopted instance runs as:
// the process's own, when it is not the daemon's (only root switches).
func (e *Runtime) adoptedCred(pid int) *syscall.Credential {
	if c := shimChild(pid); c > 0 {
		pid = c // the waiting shim runs as the daemon's user, its command as the spec's
	}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil || e.euid != 0 {
		return nil
	}
	field := func(name string) []uint32 {
		for _, line := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(line, name+":"); ok {
				var out []uint32
				for _, f := range strings.Fields(v) {
					if n, err := strconv.ParseUint(f, 10, 32); err == nil {
						out = append(out, uint32(n))
					}
				}
				return out
			}
		}
		return nil
	}
	uid, gid := field("Uid"), field("Gid")
	if len(uid) == 0 || len(gid) == 0 || (uid[0] == 0 && gid[0] == 0) {
		return nil
	}
	return &syscall.Credential{Uid: uid[0], Gid: gid[0], Groups: field("Groups")}
}

// openAdoptedOutput opens the read side of stream i of the adopted
// instance: its FIFO by path (the instance holds it open O_RDWR, so what
// it wrote while no daemon read is there), or, when the path is gone or
// no longer the instance's, the instance's own fd through /proc. Failing
// both (an instance that redirected its output), an empty reader.
func (e *Runtime) openAdoptedOutput(pid int, uid string, i int, stream string) (*os.File, string) {
	path := fifoPath(e.runDir, uid, stream)
	fd := "/proc/" + strconv.Itoa(pid) + "/fd/" + strconv.Itoa(i+1)
	pst, perr := os.Stat(path)
	fst, ferr := os.Stat(fd)
	if ferr == nil && fst.Mode()&os.ModeNamedPipe != 0 && (perr != nil || !os.SameFile(pst, fst)) {
		path = fd
	}
	f, err := openFIFOReader(path)
	if err == nil {
		return f, path
	}
	e.log.Warn("cannot read the output of an adopted instance; it is not logged", "pid", pid, "uid", uid, "stream", stream, "err", err)
	null, err := os.Open(os.DevNull)
	if err != nil {
		null = closedFile()
	}
	return null, os.DevNull
}

// closedFile is a file that reads nothing and cancels nothing: the part of
// a handle that has none to hold.
func closedFile() *os.File {
	r, w, err := os.Pipe()
	if err != nil {
		return os.NewFile(^uintptr(0), "closed")
	}
	w.Close()
	r.Close()
	return r
}
