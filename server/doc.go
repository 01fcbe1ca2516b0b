// Package server is proclet's read-only HTTP face: the REST API of API.md
// (apps, instances, logs, manifests, events, system, the watch WebSocket,
// Prometheus service discovery), /healthz, /readyz and, when given a
// handler, /metrics. It reads the reconciler's state through the narrow
// StatusReader interface (and SharedReader, without deep copies, on the
// paths that read everything often: /metrics and the instance lists) and
// never writes state; it imports neither the reconciler nor the runtime
// (log files are found through an injected LogPath function).
//
// Every answer that shows a spec redacts env values (a manifest may hold a
// secret). Errors are JSON through one table (errors.go). Security lives
// outside the router so that it covers 401, 404 and 405 answers too:
// API keys (auth.go), security headers and CORS (middleware.go); path
// parameters are DNS-1123 names before any handler sees them. Streams (log
// follows, watches) are capped (streams.go), replace the server's write
// timeout with one per write, and end with the client or the daemon.
package server
