// Package server is proclet's read-only HTTP face: the REST API of docs/api.md
// (apps, jobs and cronjobs (jobs.go), instances, logs, manifests, events,
// system, the watch WebSocket,
// Prometheus service discovery), /healthz, /readyz, the web page of
// package ui at / and /ui/ and, when given a handler, /metrics. It reads the reconciler's state through the narrow
// StatusReader interface (which includes SharedReader, without deep
// copies, for the paths that read everything often: /metrics and the
// instance lists) and never writes state; it imports neither the
// reconciler nor the runtime (log files are found through an injected
// LogPath function). What it reads is always a declared field or
// interface (Options, MetricsSources), never an optional interface found
// by a type assertion: a source that loses a method fails to compile
// rather than silently losing its series.
//
// Every answer that shows a spec redacts env values (an App's, its init
// steps', a Job's, a CronJob's job template's) and probe header values (a
// manifest may hold a secret); /api/v1/apps shows objects of kind App only. Errors are JSON through one table (errors.go). Security lives
// outside the router so that it covers 401, 404 and 405 answers too:
// API keys (auth.go: headers, and on the watch a subprotocol, which a
// browser can set; the page's files need none), security headers and CORS (middleware.go); path
// parameters are DNS-1123 names before any handler sees them; on a
// loopback listener, only local Host headers are answered (host.go: DNS
// rebinding), and the watch checks Origin. Streams (log follows, watches)
// and log reads are capped (streams.go), replace the server's write
// timeout with one per write, and end with the client or the daemon.
// Connections are capped in total and per client address at the listener
// (connlimit.go), so that no API load can take the descriptors that
// supervision needs. With Options.TLS the listener serves HTTPS; a
// CertReloader (tlscert.go) picks up a renewed certificate pair at the next
// handshake and keeps the last good one when a new pair is broken. With
// Options.Node the server says which node it is: /api/v1/node, the node
// label of the targets, proclet_node_info (node.go).
package server
