package sockets

import (
	"strconv"
	"strings"

	"proclet.dev/proclet/apis/v1alpha1"
	"proclet.dev/proclet/runtime/sockets/shim"
)

// ShimArg is os.Args[1] of the exec shim: proclet ShimArg PATH ARGV0
// ARGS... The shim itself is package shim, which the binary imports for
// its init.
const ShimArg = shim.Arg

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
