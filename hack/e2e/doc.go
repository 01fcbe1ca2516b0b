// Package e2e holds the end-to-end tests: they build bin/proclet and the
// test workload, run the real daemon on a temp manifests directory and
// watch it through the REST API and /proc. `go test -short` skips them.
//
// It owns the tests of what only the whole daemon does: adoption across a
// restart, the shutdown policy, SIGHUP, the flags, hostile state and
// manifest files, Prometheus scraping the real /metrics, the web page in
// a headless Chromium (chromedp), systemd's notify protocol on a socket
// the test owns, the unit file (systemd-analyze verify), make install, and
// the Grafana dashboard's queries (promtool), and the examples of
// docs/cli.md against what the binary prints (their shape). It must never assert through
// the daemon's internals, only through the built binary,
// its API (decoded with the apis types), its files and /proc; never
// sleep to wait for something (poll with a deadline); and never leave a
// process behind: each test stops what it started by PID or process
// group, never by name.
package e2e
