// Package client is the command line's side of proclet's REST API: an HTTP
// client typed with apis/v1alpha1 (Client; Bounded cuts every answer at a
// size, for a client of many daemons), its reader of the WebSocket
// watch (Watcher), and the pure presentation the
// client commands print: kubectl-like tables, ages, `describe`, the merge
// of several instances' log lines, and the `diff` of a manifests directory
// against what a daemon runs.
//
// It imports apis only (and the WebSocket library). It must not import server (the daemon's side) or
// any other package of the daemon, read the clock inside a formatting
// function (now is a parameter), or print anywhere but the io.Writer it is
// given. Errors are written for people: a daemon that is not there, a
// missing API key and an API error each read as one plain sentence.
package client
