package main

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// becomeSubreaper makes this process the parent of whatever a test binary
// leaves behind when it is killed before its cleanups (a mutant of the
// stop logic that hangs a runtime test): killOrphans then ends them.
func becomeSubreaper() {
	unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
}

// killOrphans kills, by process group, every child of this process left
// once no test binary runs: only orphans adopted as subreaper are left.
func killOrphans() {
	me := os.Getpid()
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	for _, p := range stats {
		data, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		// pid (comm) state ppid pgrp ...: comm may hold spaces, so split
		// after its closing parenthesis.
		i := strings.LastIndexByte(string(data), ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(string(data[i+1:]))
		if len(f) < 3 {
			continue
		}
		ppid, _ := strconv.Atoi(f[1])
		pgrp, _ := strconv.Atoi(f[2])
		pid, _ := strconv.Atoi(filepath.Base(filepath.Dir(p)))
		if ppid != me || pid <= 1 {
			continue
		}
		if pgrp > 1 && pgrp != unix.Getpgrp() {
			unix.Kill(-pgrp, unix.SIGKILL)
		}
		unix.Kill(pid, unix.SIGKILL)
		var ws unix.WaitStatus
		unix.Wait4(pid, &ws, 0, nil)
	}
}
