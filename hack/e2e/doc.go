// Package e2e holds the end-to-end tests: they build bin/proclet and the
// test workload, run the real daemon on a temp manifests directory and
// watch it through the REST API and /proc. `go test -short` skips them.
package e2e
