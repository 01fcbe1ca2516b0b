package sockets

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"

	"proclet.dev/proclet/apis/v1alpha1"
)

// ShimArg is os.Args[1] of the exec shim: proclet ShimArg PATH ARGV0 ARGS...
const ShimArg = "__proclet-listen-shim"

// ShimPath is the executable the shim is: the daemon's own, as the
// forked child resolves it (the very inode the daemon runs, even when the
// file was replaced or removed since).
const ShimPath = "/proc/self/exe"

// FirstFD is the fd of the first socket (sd_listen_fds' SD_LISTEN_FDS_START).
const FirstFD = 3

// ShimArgs is the argv of the shim that execs path with argv.
func ShimArgs(path string, argv []string) []string {
	return append([]string{"proclet", ShimArg, path}, argv...)
}

// Env is the protocol's variables known before the fork: LISTEN_FDS and
// LISTEN_FDNAMES (the shim adds LISTEN_PID).
func Env(specs []v1alpha1.SocketSpec) []string {
	names := make([]string, len(specs))
	for i, s := range specs {
		names[i] = s.Name
	}
	return []string{"LISTEN_FDS=" + strconv.Itoa(len(specs)), "LISTEN_FDNAMES=" + strings.Join(names, ":")}
}

// RunShimIfAsked is the shim's entry point: when the process was started
// as the shim (os.Args[1] is ShimArg) it sets LISTEN_PID to its own PID
// and execs the command, and never returns; otherwise it returns at once.
// main calls it first, before anything opens a file (whatever it opened
// would take fd 3 of the instance: the sockets are there already).
func RunShimIfAsked() {
	if len(os.Args) < 4 || os.Args[1] != ShimArg {
		return
	}
	path, argv := os.Args[2], os.Args[3:]
	env := withListenPID(os.Environ(), os.Getpid())
	err := syscall.Exec(path, argv, env)
	fmt.Fprintf(os.Stderr, "proclet: exec %s: %v\n", path, err)
	os.Exit(127)
}

// withListenPID returns env with LISTEN_PID set to pid (replacing one
// already there).
func withListenPID(env []string, pid int) []string {
	out := make([]string, 0, len(env)+1)
	for _, kv := range env {
		if !strings.HasPrefix(kv, "LISTEN_PID=") {
			out = append(out, kv)
		}
	}
	return append(out, "LISTEN_PID="+strconv.Itoa(pid))
}
