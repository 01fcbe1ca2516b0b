// Package sockets is socket activation: the listening TCP sockets of
// spec.sockets, bound once by the daemon and handed to every instance of
// the app with systemd's protocol (sd_listen_fds): the sockets as fds 3,
// 4, … in spec order, LISTEN_FDS (their count), LISTEN_FDNAMES (their
// names, joined by ':') and LISTEN_PID, the instance's own PID.
//
// It owns:
//   - Set: the sockets of every app, by address, with the instances
//     (uids) holding each; a socket is bound on the first Acquire of its
//     address and closed after the last Release (sockets_linux.go);
//   - Listen: the bind (SO_REUSEADDR, so a socket whose old connections
//     linger in TIME_WAIT binds at once; a backlog of Backlog);
//   - TakeBack: an adopted instance's copy of a socket, by its fd number,
//     through pidfd_getfd, so a daemon restarted after a kill -9 serves
//     on the very socket its predecessor bound (no refused connection);
//   - the exec shim's command line (shim.go; the shim is package shim):
//     LISTEN_PID can only be known after the fork, so an instance with
//     sockets is started as the daemon's own executable in a hidden mode
//     (ShimArg) that sets LISTEN_PID to its own PID and execs the real
//     command, which keeps that PID. The shim is /proc/self/exe as the
//     forked child sees it, the inode the daemon runs, so a proclet
//     binary replaced on disk during a deploy changes nothing. Only apps
//     with sockets pay for the shim.
//
// It must never start, stop or signal a process, decide anything about
// an instance's life, or import runtime/exec (exec asks for the files
// when it starts an instance and releases them with its ports).
package sockets
